//! Roles and what each one allows.
//!
//! - `read`: look at devices, libraries, media, pools, jobs; restore data;
//! - `write`: send backup data;
//! - `operate`: moves, drive down/up, submit/pause/resume/cancel jobs;
//! - `configure`: pools, media sets, enrollment tokens;
//! - `audit`: alerts and job histories (read-only, without data access).
//!
//! `admin` in a token request stands for all five.

use super::AuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Audit,
    Operate,
    Write,
    Read,
    Configure,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Audit,
        Role::Operate,
        Role::Write,
        Role::Read,
        Role::Configure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Audit => "audit",
            Role::Operate => "operate",
            Role::Write => "write",
            Role::Read => "read",
            Role::Configure => "configure",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Parses role names (comma lists allowed, `admin` = all), sorted and
/// without duplicates.
pub fn parse_roles<S: AsRef<str>>(names: &[S]) -> Result<Vec<Role>, AuthError> {
    let mut out = Vec::new();
    for n in names {
        for part in n
            .as_ref()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if part == "admin" {
                out.extend(Role::ALL);
            } else {
                out.push(Role::parse(part).ok_or_else(|| AuthError::UnknownRole(part.into()))?);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The certificate subject's organizational unit that carries the roles.
pub const OU_PREFIX: &str = "reel-roles:";

/// `reel-roles:audit,read`
pub fn encode_ou(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    format!("{OU_PREFIX}{}", names.join(","))
}

/// Roles from an organizational unit value; unknown names are ignored (a
/// newer CA may know more roles), anything without the prefix gives none.
pub fn decode_ou(ou: &str) -> Vec<Role> {
    let Some(list) = ou.strip_prefix(OU_PREFIX) else {
        return Vec::new();
    };
    let mut v: Vec<Role> = list.split(',').filter_map(Role::parse).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_encode() {
        assert_eq!(
            parse_roles(&["read, write"]).unwrap(),
            vec![Role::Write, Role::Read]
        );
        assert_eq!(parse_roles(&["admin"]).unwrap().len(), 5);
        assert!(matches!(parse_roles(&["root"]), Err(AuthError::UnknownRole(r)) if r == "root"));
        assert_eq!(
            encode_ou(&[Role::Audit, Role::Read]),
            "reel-roles:audit,read"
        );
        assert_eq!(decode_ou("reel-roles:read,bogus,read"), vec![Role::Read]);
        assert_eq!(decode_ou("read"), Vec::<Role>::new());
    }
}
