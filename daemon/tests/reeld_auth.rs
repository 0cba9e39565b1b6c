//! Refusals: a call without a client certificate, with a certificate of
//! another CA, and with a role that does not allow the call; and the
//! enrollment token rules.

mod reeld_harness;

use std::process::Command;

use reeld::api::pb;
use reeld::auth::{HostCa, Role};
use reeld::remote::{Profile, channel, connect, enroll, pinned_tls};
use reeld_harness::Reeld;
use tonic::Code;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn call_without_client_certificate_is_refused() {
    let r = Reeld::start();
    rt().block_on(async {
        // TLS to the right server (pinned), but no client certificate.
        let ch = channel(&r.grpc, pinned_tls(&r.fingerprint).unwrap())
            .await
            .unwrap();
        let e = pb::devices_client::DevicesClient::new(ch.clone())
            .list_devices(pb::Empty {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
        let e = pb::jobs_client::JobsClient::new(ch)
            .list_jobs(pb::Empty {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    });
}

#[test]
fn certificate_of_another_ca_is_refused() {
    let r = Reeld::start();
    let other = tempfile::tempdir().unwrap();
    let ca = HostCa::open_or_create(other.path(), "intruder").unwrap();
    let (cert, key) = ca.issue_client("mallory", &Role::ALL).unwrap();
    // Trusts the real server (its CA) but presents the other CA's client
    // certificate with every role.
    let real_ca = std::fs::read_to_string(r.data().join("tls/ca.pem")).unwrap();
    let dir = other.path().join("profile");
    let path = Profile::create(&dir, &r.grpc, "mallory", &real_ca, &cert, &key).unwrap();
    let p = Profile::load(&path).unwrap();
    rt().block_on(async {
        let refused = match connect(&p).await {
            Err(_) => true,
            Ok(ch) => pb::devices_client::DevicesClient::new(ch)
                .list_devices(pb::Empty {})
                .await
                .is_err(),
        };
        assert!(refused, "a certificate of another CA was accepted");
        // The same request with the daemon's own admin profile works.
        let good = Profile::load(&r.profile).unwrap();
        let ch = connect(&good).await.unwrap();
        let n = pb::devices_client::DevicesClient::new(ch)
            .list_devices(pb::Empty {})
            .await
            .unwrap()
            .into_inner()
            .devices
            .len();
        assert_eq!(n, 7);
    });
}

#[test]
fn role_that_does_not_allow_the_call_is_refused() {
    let r = Reeld::start();
    // A read-only token from the command line, redeemed by reelctl's
    // library code.
    let out = Command::new(env!("CARGO_BIN_EXE_reeld"))
        .arg("token")
        .arg("--data-dir")
        .arg(r.data())
        .args(["--roles", "read"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_string();
    assert!(text.contains(&r.fingerprint), "{text}");
    rt().block_on(async {
        let dir = r.dir.path().join("reader");
        let (path, roles) = enroll(&r.grpc, &token, &r.fingerprint, "reader", &dir)
            .await
            .unwrap();
        assert_eq!(roles, vec!["read".to_string()]);
        let ch = connect(&Profile::load(&path).unwrap()).await.unwrap();
        // Allowed: reading.
        let devices = pb::devices_client::DevicesClient::new(ch.clone())
            .list_devices(pb::Empty {})
            .await
            .unwrap();
        assert_eq!(devices.into_inner().devices.len(), 7);
        // Refused: operate (a move), configure (a token), audit (alerts).
        let e = pb::libraries_client::LibrariesClient::new(ch.clone())
            .move_medium(pb::MoveRequest {
                library: "lib1".into(),
                from: 0x400,
                to: 0x100,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e}");
        assert!(e.message().contains("operate"), "{e}");
        let e = pb::enrollment_client::EnrollmentClient::new(ch.clone())
            .create_token(pb::CreateTokenRequest {
                roles: vec!["admin".into()],
                ttl_secs: 60,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e}");
        let e = pb::alerts_client::AlertsClient::new(ch.clone())
            .list_alerts(pb::Empty {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e}");
        let e = pb::devices_client::DevicesClient::new(ch)
            .set_health(pb::SetHealthRequest {
                device: "lib1/drive0".into(),
                health: "down".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    });
    // The move did not happen: the cartridge is still in slot 1.
    let status = r.ok(&[
        "libraries",
        "status",
        "lib1",
        "--profile",
        r.profile.to_str().unwrap(),
    ]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Slot 1 ") && l.contains("Full RL0001L8")),
        "{status}"
    );
}

#[test]
fn unknown_token_is_refused_and_admin_can_mint_tokens() {
    let r = Reeld::start();
    rt().block_on(async {
        let dir = r.dir.path().join("x");
        let e = enroll(&r.grpc, &"ab".repeat(32), &r.fingerprint, "x", &dir)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("token"), "{e}");
        let admin = connect(&Profile::load(&r.profile).unwrap()).await.unwrap();
        let t = pb::enrollment_client::EnrollmentClient::new(admin.clone())
            .create_token(pb::CreateTokenRequest {
                roles: vec!["operate,audit".into()],
                ttl_secs: 60,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(t.roles, vec!["audit".to_string(), "operate".to_string()]);
        let (path, roles) = enroll(&r.grpc, &t.token, &r.fingerprint, "op", &dir)
            .await
            .unwrap();
        assert_eq!(roles, t.roles);
        let op = connect(&Profile::load(&path).unwrap()).await.unwrap();
        // operate may take a drive down; it shows in the alerts (audit).
        pb::devices_client::DevicesClient::new(op.clone())
            .set_health(pb::SetHealthRequest {
                device: "lib1/drive1".into(),
                health: "down".into(),
            })
            .await
            .unwrap();
        let alerts = pb::alerts_client::AlertsClient::new(op.clone())
            .list_alerts(pb::Empty {})
            .await
            .unwrap()
            .into_inner();
        assert!(
            alerts.alerts.iter().any(|a| a.device == "lib1/drive1"),
            "{alerts:?}"
        );
        // ...but not read the device list.
        let e = pb::devices_client::DevicesClient::new(op)
            .list_devices(pb::Empty {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        let info = pb::host_client::HostClient::new(admin)
            .info(pb::Empty {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(info.caller, "local-admin");
        assert_eq!(info.caller_roles.len(), 5);
    });
}
