//! Every log event the shop writes has a stable `event.name`, so a backend can count and alert
//! on it by name rather than by message text, and an error in one is recorded as the conventions
//! record an exception, `exception.type` beside `exception.message` (checked over the sources, as
//! `layers` checks the imports).

#[test]
fn every_log_event_has_an_event_name() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut missing = Vec::new();
    let mut files = vec![std::path::PathBuf::from(src)];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("source directory") {
                files.push(entry.expect("entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("log_events.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source file");
        for macro_name in ["tracing::info!(", "tracing::warn!(", "tracing::error!("] {
            for (at, _) in text.match_indices(macro_name) {
                // The macro's arguments: up to the parenthesis that closes it.
                let args = &text[at + macro_name.len()..];
                let mut depth = 1;
                let end = args
                    .char_indices()
                    .find_map(|(i, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        (depth == 0).then_some(i)
                    })
                    .unwrap_or(args.len());
                let args = &args[..end];
                let line = text[..at].lines().count() + 1;
                if !args.contains("event.name") {
                    missing.push(format!("{}:{line}: no event.name", path.display()));
                }
                // An error is an exception, as the conventions record one: type and message.
                if args.contains("exception.message") && !args.contains("exception.type") {
                    missing.push(format!(
                        "{}:{line}: exception.message without exception.type",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "log events short of the contract: {missing:#?}"
    );
}
