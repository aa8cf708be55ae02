//! The statements of updates, group-committed (`storage::update_io`): what several handlers
//! ask at the same moment is one statement, and each still gets its own answer.

use chrono::{DateTime, Utc};
use guanxi::storage::update_io::UpdateIo;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_update_claimed_twice_at_the_same_moment_is_handled_once() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    // Both requests reach the committer before it runs: one statement for both.
    let (a, b) = tokio::join!(io.claim_update(42, now), io.claim_update(42, now));
    assert_eq!((a.unwrap(), b.unwrap()), (true, false));
    assert!(!io.claim_update(42, now).await.unwrap(), "a later delivery finds it claimed");
}

#[tokio::test]
async fn many_updates_claimed_at_once_are_each_claimed_once() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    let first = claim_all(io, 1..=50, now).await;
    assert!(first.iter().all(|&c| c), "{first:?}");
    let second = claim_all(io, 1..=50, now).await;
    assert!(second.iter().all(|&c| !c), "{second:?}");
}

#[tokio::test]
async fn two_states_of_one_chat_in_one_batch_are_stored_in_order() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    let (a, b) =
        tokio::join!(io.set_dialogue(7, "\"first\"".into(), now), io.set_dialogue(7, "\"second\"".into(), now));
    a.unwrap();
    b.unwrap();
    assert_eq!(io.dialogue(7).await.unwrap().as_deref(), Some("\"second\""));
    let (cleared, other) = tokio::join!(io.clear_dialogue(7), io.dialogue(8));
    cleared.unwrap();
    assert_eq!(other.unwrap(), None);
    assert_eq!(io.dialogue(7).await.unwrap(), None);
}

/// Claim `ids` from as many tasks at once (so that they share batches), answers in order.
async fn claim_all(io: &UpdateIo, ids: std::ops::RangeInclusive<i64>, now: DateTime<Utc>) -> Vec<bool> {
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let io = io.clone();
        tasks.spawn(async move { (id, io.claim_update(id, now).await.unwrap()) });
    }
    let mut answers = tasks.join_all().await;
    answers.sort();
    assert_eq!(answers.len(), ids.count());
    answers.into_iter().map(|(_, claimed)| claimed).collect()
}
