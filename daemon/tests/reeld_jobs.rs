//! Jobs through the API while their data flows: pause and resume a
//! running backup, cancel another one (its cartridge goes home, the set is
//! incomplete and cannot be restored).

mod reeld_harness;

use std::time::Duration;

use reeld::api::pb;
use reeld::remote::{Profile, connect};
use reeld_harness::Reeld;
use tokio::sync::mpsc;
use tonic::transport::Channel;

fn msg(m: pb::backup_message::Msg) -> pb::BackupMessage {
    pb::BackupMessage { msg: Some(m) }
}

async fn state(ch: &Channel, id: i64) -> String {
    pb::jobs_client::JobsClient::new(ch.clone())
        .get_job(pb::JobRef { id })
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap()
        .state
}

/// Waits until the newest job is in `want`; returns its id.
async fn wait_newest(ch: &Channel, want: &str) -> i64 {
    for _ in 0..100 {
        let jobs = pb::jobs_client::JobsClient::new(ch.clone())
            .list_jobs(pb::Empty {})
            .await
            .unwrap()
            .into_inner()
            .jobs;
        if let Some(j) = jobs.iter().max_by_key(|j| j.id)
            && j.state == want
        {
            return j.id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no job became {want}");
}

/// Starts a backup fed by the returned sender.
fn start_backup(
    ch: &Channel,
) -> (
    mpsc::Sender<pb::BackupMessage>,
    tokio::task::JoinHandle<Result<pb::BackupReply, tonic::Status>>,
) {
    let (tx, rx) = mpsc::channel(4);
    let mut c = pb::data_client::DataClient::new(ch.clone());
    let call = tokio::spawn(async move {
        c.backup(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map(|r| r.into_inner())
    });
    (tx, call)
}

#[test]
fn pause_resume_and_cancel_a_running_backup() {
    let r = Reeld::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ch = connect(&Profile::load(&r.profile).unwrap()).await.unwrap();
        let header = pb::BackupHeader {
            pool: "lto8".into(),
            ..Default::default()
        };
        let chunk = vec![0x5au8; 64 * 1024];

        // Pause and resume.
        let (tx, call) = start_backup(&ch);
        tx.send(msg(pb::backup_message::Msg::Header(header.clone())))
            .await
            .unwrap();
        tx.send(msg(pb::backup_message::Msg::Data(chunk.clone().into())))
            .await
            .unwrap();
        let job = wait_newest(&ch, "running").await;
        let mut jobs = pb::jobs_client::JobsClient::new(ch.clone());
        let j = jobs
            .pause_job(pb::JobRef { id: job })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(j.state, "paused");
        // Data keeps arriving; the job stays paused until resumed.
        for _ in 0..8 {
            tx.send(msg(pb::backup_message::Msg::Data(chunk.clone().into())))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(state(&ch, job).await, "paused");
        let j = jobs
            .resume_job(pb::JobRef { id: job })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(j.state, "running");
        drop(tx);
        let reply = call.await.unwrap().unwrap();
        assert_eq!(reply.job, job);
        assert_eq!(reply.bytes, 9 * chunk.len() as u64);
        assert_eq!(state(&ch, job).await, "completed");
        let events = jobs
            .get_job(pb::JobRef { id: job })
            .await
            .unwrap()
            .into_inner()
            .events;
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["submitted", "started", "paused", "resumed", "completed"]
        );

        // Cancel: the stream is refused at the next progress report.
        let (tx, call) = start_backup(&ch);
        tx.send(msg(pb::backup_message::Msg::Header(header)))
            .await
            .unwrap();
        tx.send(msg(pb::backup_message::Msg::Data(chunk.clone().into())))
            .await
            .unwrap();
        let job2 = wait_newest(&ch, "running").await;
        assert_ne!(job2, job);
        let j = jobs
            .cancel_job(pb::JobRef { id: job2 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(j.state, "cancelled");
        for _ in 0..50 {
            if call.is_finished()
                || tx
                    .send(msg(pb::backup_message::Msg::Data(chunk.clone().into())))
                    .await
                    .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let e = call.await.unwrap().unwrap_err();
        assert!(e.message().contains("cancelled"), "{e}");
        assert_eq!(state(&ch, job2).await, "cancelled");
        // Every cartridge is back in a slot.
        let media = pb::media_client::MediaClient::new(ch.clone())
            .list_media(pb::Empty {})
            .await
            .unwrap()
            .into_inner()
            .media;
        assert!(media.iter().all(|m| m.location_kind == "slot"), "{media:?}");
    });
}

/// Waits until job `id` has ended; returns its final state and error.
async fn wait_end(ch: &Channel, id: i64) -> pb::Job {
    for _ in 0..400 {
        let j = pb::jobs_client::JobsClient::new(ch.clone())
            .get_job(pb::JobRef { id })
            .await
            .unwrap()
            .into_inner()
            .job
            .unwrap();
        if matches!(j.state.as_str(), "completed" | "failed" | "cancelled") {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not end");
}

#[test]
fn operations_jobs_run_on_the_daemon() {
    let r = Reeld::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ch = connect(&Profile::load(&r.profile).unwrap()).await.unwrap();
        let mut jobs = pb::jobs_client::JobsClient::new(ch.clone());
        let submit = |req: pb::SubmitJobRequest| {
            let mut jobs = jobs.clone();
            async move { jobs.submit_job(req).await.unwrap().into_inner().id }
        };
        let inv = submit(pb::SubmitJobRequest {
            kind: "inventory".into(),
            device: "lib1".into(),
            ..Default::default()
        })
        .await;
        let label = submit(pb::SubmitJobRequest {
            kind: "label".into(),
            pool: "lto8".into(),
            barcode: "RL0005L8".into(),
            ..Default::default()
        })
        .await;
        let clean = submit(pb::SubmitJobRequest {
            kind: "clean".into(),
            device: "lib1/drive2".into(),
            ..Default::default()
        })
        .await;
        for id in [inv, label, clean] {
            let j = wait_end(&ch, id).await;
            assert_eq!(j.state, "completed", "{j:?}\n{}", r.log());
        }
        let e = jobs
            .submit_job(pb::SubmitJobRequest {
                kind: "label".into(),
                pool: "lto8".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(e.message().contains("barcode"), "{e}");

        // Every cartridge is home again, the labelled one still scratch.
        let media = pb::media_client::MediaClient::new(ch.clone())
            .list_media(pb::Empty {})
            .await
            .unwrap()
            .into_inner()
            .media;
        assert!(media.iter().all(|m| m.location_kind == "slot"), "{media:?}");
        let rl5 = media.iter().find(|m| m.barcode == "RL0005L8").unwrap();
        assert_eq!(rl5.state, "scratch");
        assert!(rl5.mount_count >= 1, "{rl5:?}");
    });
}

#[test]
fn duplicate_stages_a_disk_set_to_tape() {
    let r = Reeld::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ch = connect(&Profile::load(&r.profile).unwrap()).await.unwrap();
        let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        let (tx, call) = start_backup(&ch);
        tx.send(msg(pb::backup_message::Msg::Header(pb::BackupHeader {
            pool: "disk".into(),
            ..Default::default()
        })))
        .await
        .unwrap();
        for c in data.chunks(100_000) {
            tx.send(msg(pb::backup_message::Msg::Data(c.to_vec().into())))
                .await
                .unwrap();
        }
        drop(tx);
        let disk = call.await.unwrap().unwrap();
        assert_eq!(disk.device, "disk0");

        let dup = pb::jobs_client::JobsClient::new(ch.clone())
            .submit_job(pb::SubmitJobRequest {
                kind: "duplicate".into(),
                pool: "lto8".into(),
                media_set: "default".into(),
                set_uuid: disk.set_uuid.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let j = wait_end(&ch, dup.id).await;
        assert_eq!(j.state, "completed", "{j:?}\n{}", r.log());
        assert!(j.device.starts_with("lib1/drive"), "{j:?}");
    });
}

#[test]
fn kill_mid_backup_then_restart_recovers_and_backs_up_again() {
    let r = Reeld::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let header = pb::BackupHeader {
        pool: "lto8".into(),
        ..Default::default()
    };
    let chunk = vec![0x33u8; 256 * 1024];
    let job = rt.block_on(async {
        let ch = connect(&Profile::load(&r.profile).unwrap()).await.unwrap();
        let (tx, _call) = start_backup(&ch);
        tx.send(msg(pb::backup_message::Msg::Header(header.clone())))
            .await
            .unwrap();
        // More than the executor's read-ahead: the tape is being written.
        for _ in 0..24 {
            tx.send(msg(pb::backup_message::Msg::Data(chunk.clone().into())))
                .await
                .unwrap();
        }
        let job = wait_newest(&ch, "running").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The stream stays open: the daemon dies mid-backup.
        std::mem::forget(tx);
        job
    });
    let r = r.kill_and_restart();
    assert!(r.banner.contains("recovered after restart"), "{}", r.banner);
    rt.block_on(async {
        let ch = connect(&Profile::load(&r.profile).unwrap()).await.unwrap();
        let mut jobs = pb::jobs_client::JobsClient::new(ch.clone());
        let d = jobs
            .get_job(pb::JobRef { id: job })
            .await
            .unwrap()
            .into_inner();
        let j = d.job.unwrap();
        assert!(
            matches!(j.state.as_str(), "cancelled" | "failed"),
            "{j:?} {:?}",
            d.events
        );
        // Every cartridge is home and no device is held.
        let media = pb::media_client::MediaClient::new(ch.clone())
            .list_media(pb::Empty {})
            .await
            .unwrap()
            .into_inner()
            .media;
        assert!(media.iter().all(|m| m.location_kind == "slot"), "{media:?}");
        let devices = pb::devices_client::DevicesClient::new(ch.clone())
            .list_devices(pb::Empty {})
            .await
            .unwrap()
            .into_inner()
            .devices;
        assert!(devices.iter().all(|d| d.busy_job == 0), "{devices:?}");

        // A new backup succeeds.
        let (tx, call) = start_backup(&ch);
        tx.send(msg(pb::backup_message::Msg::Header(header)))
            .await
            .unwrap();
        tx.send(msg(pb::backup_message::Msg::Data(chunk.clone().into())))
            .await
            .unwrap();
        drop(tx);
        let reply = call.await.unwrap().unwrap();
        assert_eq!(reply.bytes, chunk.len() as u64);
        assert_eq!(state(&ch, reply.job).await, "completed");
    });
}
