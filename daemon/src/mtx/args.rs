//! mtx's argument walk: `-f DEVICE` anywhere, commands with up to three
//! numeric arguments, run left to right as they are read. A word that is
//! not a command stops the walk with the usage (after the commands before
//! it have run).

/// mtx's commands and modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Inquiry,
    Status,
    Invert,
    NoAttach,
    Eepos,
    Load,
    Unload,
    Transfer,
    First,
    Last,
    Previous,
    Next,
    Version,
    Inventory,
    Eject,
    Erase,
    NoBarcode,
    Position,
    Invert2,
    Exchange,
    AltRes,
}

impl Command {
    /// mtx's command table: name, numeric arguments, needs the device,
    /// needs the element status.
    const TABLE: [(&'static str, Command, usize, bool, bool); 21] = [
        ("inquiry", Command::Inquiry, 0, true, false),
        ("status", Command::Status, 0, true, true),
        ("invert", Command::Invert, 0, false, false),
        ("noattach", Command::NoAttach, 0, false, false),
        ("eepos", Command::Eepos, 1, false, false),
        ("load", Command::Load, 2, true, true),
        ("unload", Command::Unload, 2, true, true),
        ("transfer", Command::Transfer, 2, true, true),
        ("first", Command::First, 1, true, true),
        ("last", Command::Last, 1, true, true),
        ("previous", Command::Previous, 1, true, true),
        ("next", Command::Next, 1, true, true),
        ("--version", Command::Version, 0, false, false),
        ("inventory", Command::Inventory, 0, true, false),
        ("eject", Command::Eject, 0, true, false),
        ("erase", Command::Erase, 0, true, false),
        ("nobarcode", Command::NoBarcode, 0, false, false),
        ("position", Command::Position, 1, true, true),
        ("invert2", Command::Invert2, 0, false, false),
        ("exchange", Command::Exchange, 3, true, true),
        ("altres", Command::AltRes, 0, false, false),
    ];

    pub fn from_name(name: &str) -> Option<Command> {
        Self::TABLE.iter().find(|t| t.0 == name).map(|t| t.1)
    }

    fn entry(self) -> (&'static str, Command, usize, bool, bool) {
        // Every command is in the table.
        Self::TABLE
            .iter()
            .copied()
            .find(|t| t.1 == self)
            .unwrap_or(("", self, 0, false, false))
    }

    pub fn name(self) -> &'static str {
        self.entry().0
    }

    pub fn num_args(self) -> usize {
        self.entry().2
    }

    pub fn needs_device(self) -> bool {
        self.entry().3
    }

    pub fn needs_status(self) -> bool {
        self.entry().4
    }
}

/// One step of an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `-f DEVICE`: open it now.
    Device(String),
    /// A command and its arguments (-1 when absent, as mtx's `arg1..3`).
    Run { cmd: Command, args: [i32; 3] },
    /// A word that is not a command, or `-f` without a device: print the
    /// usage and exit 1.
    Usage,
}

/// mtx's `get_arg`: a word starting with a digit is a number (its leading
/// digits, as atoi); anything else is no argument (-1).
pub fn numeric(word: &str) -> Option<i32> {
    if !word.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
    Some(digits.parse().unwrap_or(i32::MAX))
}

/// Splits `args` (without argv[0]) into steps. Nothing after a
/// [`Step::Usage`] is returned.
pub fn parse(args: &[String]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "-f" {
            i += 1;
            match args.get(i) {
                Some(d) => steps.push(Step::Device(d.clone())),
                None => {
                    steps.push(Step::Usage);
                    return steps;
                }
            }
            i += 1;
            continue;
        }
        let Some(cmd) = Command::from_name(&args[i]) else {
            steps.push(Step::Usage);
            return steps;
        };
        i += 1;
        let mut a = [-1i32; 3];
        for slot in a.iter_mut().take(cmd.num_args()) {
            // Each further argument is read only when the previous one was
            // (the loop stops at the first word that is not a number).
            match args.get(i).and_then(|w| numeric(w)) {
                Some(v) => {
                    *slot = v;
                    i += 1;
                }
                None => break,
            }
        }
        steps.push(Step::Run { cmd, args: a });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<Step> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse(&v)
    }

    fn run(cmd: Command, args: [i32; 3]) -> Step {
        Step::Run { cmd, args }
    }

    #[test]
    fn commands_and_arguments() {
        assert_eq!(
            p("-f /dev/sg1 status"),
            vec![
                Step::Device("/dev/sg1".into()),
                run(Command::Status, [-1; 3])
            ]
        );
        assert_eq!(
            p("load 3 1 unload"),
            vec![
                run(Command::Load, [3, 1, -1]),
                run(Command::Unload, [-1; 3])
            ]
        );
        // Extra numbers after a full command are not commands: usage.
        assert_eq!(
            p("first 1 2"),
            vec![run(Command::First, [1, -1, -1]), Step::Usage]
        );
        assert_eq!(
            p("exchange 1 2 3 status"),
            vec![
                run(Command::Exchange, [1, 2, 3]),
                run(Command::Status, [-1; 3])
            ]
        );
        // atoi: leading digits count.
        assert_eq!(p("load 7x"), vec![run(Command::Load, [7, -1, -1])]);
        assert_eq!(
            p("nobarcode status"),
            vec![
                run(Command::NoBarcode, [-1; 3]),
                run(Command::Status, [-1; 3])
            ]
        );
        assert_eq!(p("eepos 2"), vec![run(Command::Eepos, [2, -1, -1])]);
    }

    #[test]
    fn usage_cases() {
        assert_eq!(
            p("status -f"),
            vec![run(Command::Status, [-1; 3]), Step::Usage]
        );
        assert_eq!(p("bogus status"), vec![Step::Usage]);
        // Negative numbers are not numbers to mtx.
        assert_eq!(p("load -1"), vec![run(Command::Load, [-1; 3]), Step::Usage]);
        assert!(p("").is_empty());
    }

    #[test]
    fn numbers() {
        assert_eq!(numeric("12"), Some(12));
        assert_eq!(numeric("0"), Some(0));
        assert_eq!(numeric("x1"), None);
        assert_eq!(numeric(""), None);
        assert_eq!(numeric("99999999999999"), Some(i32::MAX));
    }

    #[test]
    fn table_is_complete() {
        for (name, cmd, ..) in Command::TABLE {
            assert_eq!(Command::from_name(name), Some(cmd));
            assert_eq!(cmd.name(), name);
        }
        assert!(Command::Status.needs_status());
        assert!(!Command::Inquiry.needs_status());
        assert!(Command::Inquiry.needs_device());
        assert!(!Command::NoBarcode.needs_device());
        assert_eq!(Command::Exchange.num_args(), 3);
    }
}
