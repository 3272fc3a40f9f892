//! Lessons: stored once a job, found again by their words within the tenant and language.

use std::sync::Arc;

use hone_domain::{Language, TenantId};

use crate::{ManualClock, NewLesson, Store};

use super::fixtures::*;

fn lesson(job: hone_domain::JobId, language: Language, task: &str, text: &str) -> NewLesson {
    NewLesson {
        job,
        tenant: tenant(),
        language,
        task: task.into(),
        text: text.into(),
    }
}

/// The most similar lessons come first; another language, another tenant and words that
/// match nothing find none; a job keeps its first lesson.
pub async fn lessons_are_found_by_their_words(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let (a, b, c, d) = (
        enqueue(&store, 0).await,
        enqueue(&store, 0).await,
        enqueue(&store, 0).await,
        enqueue(&store, 0).await,
    );
    let python = Language::Python;
    for l in [
        lesson(
            a,
            python,
            "Parse log lines into dicts",
            "Failed: IndexError on an empty line. Fix: skip blank lines when parsing logs",
        ),
        lesson(
            b,
            python,
            "Sort numbers",
            "Failed: TypeError comparing None. Fix: filter None",
        ),
        lesson(
            c,
            Language::Javascript,
            "Parse log lines",
            "Failed: TypeError. Fix: skip blank log lines",
        ),
        lesson(
            d,
            python,
            "Parse a CSV file",
            "Failed: IndexError on a short row. Fix: check the row length",
        ),
    ] {
        store.add_lesson(l).await.expect("add");
    }
    store
        .add_lesson(lesson(
            a,
            python,
            "Parse log lines into dicts",
            "a second lesson",
        ))
        .await
        .expect("a second lesson is ignored");
    let found = store
        .find_lessons(
            &tenant(),
            python,
            "Write parse_logs: parse the log lines, skipping blank ones",
            3,
        )
        .await
        .expect("find");
    let ids: Vec<_> = found.iter().map(|l| l.job_id).collect();
    assert_eq!(
        ids.first(),
        Some(&a),
        "the log-parsing lesson first: {found:?}"
    );
    assert!(!ids.contains(&c), "another language");
    assert!(!ids.contains(&b), "no shared word");
    assert!(
        found[0].text.contains("skip blank lines"),
        "the first lesson kept"
    );
    assert_eq!(found[0].task, "Parse log lines into dicts");
    let limited = store
        .find_lessons(&tenant(), python, "parse log lines csv row", 1)
        .await
        .expect("find");
    assert_eq!(limited.len(), 1);
    let other = TenantId::parse("lessons-other").expect("tenant");
    assert!(
        store
            .find_lessons(&other, python, "parse log lines", 3)
            .await
            .expect("find")
            .is_empty()
    );
    assert!(
        store
            .find_lessons(&tenant(), python, "zebra quantum", 3)
            .await
            .expect("find")
            .is_empty()
    );
    assert!(
        store
            .find_lessons(&tenant(), python, "!! ?? ..", 3)
            .await
            .expect("find")
            .is_empty()
    );
}
