//! Discovery of Linux SCSI tape drives and changers from a fake sysfs/dev
//! tree, laid out as the kernel does (class links to the H:C:T:L device
//! directory, which lists its sg, st and sch nodes). The fake nodes are
//! plain files, so opening them fails: the devices are listed offline,
//! and the serial sysfs lacks comes from an injected reader (no INQUIRY).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reel_drivers::sg::sysfs::{SgDevice, SysfsRoots};
use reeld::devices::{
    DeviceState, DevicesConfig, PollOutcome, Registry, RegistryOptions, SerialReader,
};
use reeld::scheduler::device::DeviceKind;

struct Fake<'a> {
    hctl: &'a str,
    sg: &'a str,
    device_type: u8,
    vendor: &'a str,
    model: &'a str,
    /// Written as `vpd_pg80` when present.
    serial: Option<&'a str>,
    /// `nstN` / `schN` node names.
    nodes: &'a [&'a str],
    class: &'a str,
}

fn add(root: &Path, d: &Fake<'_>) {
    let sys = root.join("sys");
    let dev = root.join("dev");
    let dev_dir = sys.join(format!("devices/pci0000:00/host2/{}", d.hctl));
    fs::create_dir_all(&dev_dir).unwrap();
    fs::create_dir_all(&dev).unwrap();
    fs::write(dev_dir.join("type"), format!("{}\n", d.device_type)).unwrap();
    fs::write(dev_dir.join("vendor"), format!("{:<8}\n", d.vendor)).unwrap();
    fs::write(dev_dir.join("model"), format!("{:<16}\n", d.model)).unwrap();
    fs::write(dev_dir.join("rev"), "0001\n").unwrap();
    if let Some(s) = d.serial {
        let mut page = vec![d.device_type, 0x80, 0, s.len() as u8];
        page.extend_from_slice(s.as_bytes());
        fs::write(dev_dir.join("vpd_pg80"), page).unwrap();
    }
    let link = |class: &str, name: &str| {
        let cdir = dev_dir.join(class).join(name);
        fs::create_dir_all(&cdir).unwrap();
        symlink(&dev_dir, cdir.join("device")).unwrap();
        let class_root = sys.join("class").join(class);
        fs::create_dir_all(&class_root).unwrap();
        symlink(&cdir, class_root.join(name)).unwrap();
        fs::write(dev.join(name), b"").unwrap();
    };
    link("scsi_generic", d.sg);
    for n in d.nodes {
        link(d.class, n);
    }
}

fn drive<'a>(hctl: &'a str, sg: &'a str, nodes: &'a [&'a str], serial: &'a str) -> Fake<'a> {
    Fake {
        hctl,
        sg,
        device_type: 1,
        vendor: "IBM",
        model: "ULTRIUM-HH9",
        serial: Some(serial),
        nodes,
        class: "scsi_tape",
    }
}

/// Serials by sg name, and which devices were asked.
#[derive(Default)]
struct Serials {
    known: BTreeMap<String, String>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl SerialReader for Serials {
    fn serial(&self, dev: &SgDevice) -> Option<String> {
        self.asked.lock().unwrap().push(dev.sg_name.clone());
        self.known.get(&dev.sg_name).cloned()
    }
}

fn start(root: &Path, serials: Serials) -> Registry {
    let config = DevicesConfig::parse("[devices]\nsysfs = true\n").unwrap();
    Registry::start(
        config,
        RegistryOptions {
            roots: SysfsRoots::new(root.join("sys"), root.join("dev")),
            serials: Box::new(serials),
            vtls: Vec::new(),
            background_polls: false,
            poll_wait: Duration::from_secs(30),
        },
    )
    .unwrap()
}

#[test]
fn sysfs_tape_and_changer_are_named_and_serials_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    add(
        root,
        &drive("2:0:0:0", "sg1", &["nst0", "st0"], "10WT036261"),
    );
    // The changer's kernel shows no vpd_pg80: the reader supplies it.
    add(
        root,
        &Fake {
            hctl: "2:0:0:1",
            sg: "sg2",
            device_type: 8,
            vendor: "QUANTUM",
            model: "Scalar i3-i6",
            serial: None,
            nodes: &["sch0"],
            class: "scsi_changer",
        },
    );
    // A disk is not a tape device.
    add(
        root,
        &Fake {
            hctl: "0:0:0:0",
            sg: "sg0",
            device_type: 0,
            vendor: "ATA",
            model: "DISK",
            serial: None,
            nodes: &[],
            class: "scsi_disk",
        },
    );
    let asked = Arc::new(Mutex::new(Vec::new()));
    let serials = Serials {
        known: [("sg2".to_string(), "QU1234ABCD".to_string())].into(),
        asked: asked.clone(),
    };
    let reg = start(root, serials);
    assert_eq!(
        *asked.lock().unwrap(),
        ["sg2"],
        "only the serial sysfs lacks"
    );
    let devs = reg.devices();
    let ids: Vec<&str> = devs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["drive-10WT036261", "lib-QU1234ABCD"]);
    let d = &devs[0];
    assert_eq!(d.kind, DeviceKind::TapeDrive);
    assert_eq!(d.vendor, "IBM");
    assert_eq!(d.model, "ULTRIUM-HH9");
    assert_eq!(d.generation, Some(9));
    assert_eq!(d.serial.as_deref(), Some("10WT036261"));
    assert_eq!(d.address, root.join("dev/nst0").display().to_string());
    let c = &devs[1];
    assert_eq!(c.kind, DeviceKind::Changer);
    assert_eq!(c.vendor, "QUANTUM");
    assert_eq!(c.model, "Scalar i3-i6");
    assert_eq!(c.serial.as_deref(), Some("QU1234ABCD"));
    assert_eq!(c.address, root.join("dev/sch0").display().to_string());
    // The nodes are plain files, not sg devices: offline, with the reason.
    for d in &devs {
        assert_eq!(d.state, DeviceState::Offline, "{}", d.id);
        assert!(
            d.status_text().contains("not a SCSI generic"),
            "{}",
            d.status_text()
        );
        assert_eq!(d.alerts.len(), 1);
    }

    // A drive appears, another goes: rescan adds one, keeps the other
    // listed offline.
    add(root, &drive("3:0:0:0", "sg3", &["nst1"], "10WT099999"));
    fs::remove_file(root.join("sys/class/scsi_generic/sg1")).unwrap();
    let r = reg.rescan().unwrap();
    assert_eq!(r.added, ["drive-10WT099999"]);
    assert_eq!(r.missing, ["drive-10WT036261"]);
    let gone = reg.device("drive-10WT036261").unwrap();
    assert_eq!(gone.detail.as_deref(), Some("not found by the last scan"));
    assert_eq!(reg.devices().len(), 3);
    let out = reg.poll_now();
    assert!(out.contains(&("drive-10WT036261".to_string(), PollOutcome::Missing)));
}

#[test]
fn no_sysfs_no_devices() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = start(tmp.path(), Serials::default());
    assert!(reg.devices().is_empty());
    assert!(reg.warnings().is_empty());
}
