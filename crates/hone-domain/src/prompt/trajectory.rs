//! An accepted job as one multi-turn chat transcript, for fine-tuning an actor on the whole
//! repair: the actor's system prompt, the task, then each attempt's code as an assistant
//! turn and what went wrong with it as the next user turn, ending with the accepted code.
//! Turns alternate user and assistant, as chat fine-tuning formats require.

use crate::attempt::{Attempt, AttemptStatus};
use crate::spec::JobSpec;

use super::feedback::what_went_wrong;
use super::{Message, Role, actor_messages};

/// One turn of a trajectory, and whether a fine-tuning run should learn from it: only the
/// accepted answer is worth imitating; a failed attempt's code is context, not a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The message.
    pub message: Message,
    /// For assistant turns: true for the accepted answer, false for a failed attempt.
    pub train: Option<bool>,
}

/// The transcript of an accepted job, or `None` when no attempt was accepted or an attempt
/// before it has no code or no feedback (the loop did not reach the actor: nothing to learn).
pub fn trajectory(spec: &JobSpec, attempts: &[Attempt]) -> Option<Vec<Turn>> {
    let accepted = attempts
        .iter()
        .position(|a| a.status == AttemptStatus::Accepted)?;
    let lang = spec.language.as_str();
    let mut opening = actor_messages(spec, None).into_iter();
    let system = opening.next()?;
    // The task, and the starter code when there is one, as one user turn.
    let user: Vec<String> = opening.map(|m| m.content).collect();
    let mut turns = vec![
        turn(system, None),
        turn(Message::new(Role::User, user.join("\n")), None),
    ];
    for (i, attempt) in attempts[..=accepted].iter().enumerate() {
        let code = attempt.code.as_ref()?;
        let answer = format!("```{lang}\n{}\n```", code.trim_end());
        let accepted_here = i == accepted;
        turns.push(turn(
            Message::new(Role::Assistant, answer),
            Some(accepted_here),
        ));
        if !accepted_here {
            let feedback = attempt.feedback.as_ref()?;
            turns.push(turn(
                Message::new(Role::User, what_went_wrong(feedback)),
                None,
            ));
        }
    }
    Some(turns)
}

fn turn(message: Message, train: Option<bool>) -> Turn {
    Turn { message, train }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::{Execution, ExecutionStatus};
    use crate::prompt::build_feedback;
    use crate::timestamp::Timestamp;

    fn attempt(iteration: u32, code: &str, status: AttemptStatus) -> Attempt {
        let execution = Execution {
            exit_code: Some(1),
            stderr: "AssertionError".into(),
            ..Execution::bare(ExecutionStatus::Failed)
        };
        let feedback =
            (status == AttemptStatus::Failed).then(|| build_feedback(&execution, None, None));
        Attempt {
            iteration,
            status,
            code: Some(code.into()),
            actor: None,
            execution: Some(execution),
            candidates: Vec::new(),
            lessons: Vec::new(),
            critique: None,
            critic: None,
            feedback,
            started_at: Timestamp::now(),
            finished_at: None,
        }
    }

    #[test]
    fn an_accepted_repair_alternates_turns_and_trains_only_on_the_accepted_answer() {
        let spec = JobSpec::parse(&serde_json::json!({
            "task": "add", "tests": "assert add(1, 2) == 3", "starter_code": "def add(a, b):"
        }))
        .unwrap();
        let attempts = [
            attempt(1, "def add(a, b): return a - b", AttemptStatus::Failed),
            attempt(2, "def add(a, b): return a + b\n", AttemptStatus::Accepted),
        ];
        let turns = trajectory(&spec, &attempts).unwrap();
        let roles: Vec<Role> = turns.iter().map(|t| t.message.role).collect();
        use Role::{Assistant, System, User};
        assert_eq!(roles, [System, User, Assistant, User, Assistant]);
        assert!(turns[1].message.content.contains("## Task\nadd"));
        assert!(turns[1].message.content.contains("Starter code"));
        assert!(turns[3].message.content.contains("What went wrong"));
        assert_eq!(
            turns[4].message.content,
            "```python\ndef add(a, b): return a + b\n```"
        );
        let train: Vec<Option<bool>> = turns.iter().map(|t| t.train).collect();
        assert_eq!(train, [None, None, Some(false), None, Some(true)]);
        assert!(
            trajectory(&spec, &attempts[..1]).is_none(),
            "never accepted"
        );
    }
}
