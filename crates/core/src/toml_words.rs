//! The TOML parser's syntax messages (``expected `.`, `=` ``) said in the words of a person
//! editing a runbook or a manifest, with what to write instead. One place for both documents.

/// `message` (the `toml` crate's own) rewritten; one it does not know keeps its text, without
/// the backticks.
pub fn syntax_in_words(message: &str) -> String {
    let message = message.trim();
    let said = if let Some(key) = message.strip_prefix("duplicate key `").and_then(|rest| rest.split('`').next()) {
        format!("{key} is given twice in the same section; keep one of them")
    } else if message.starts_with("invalid table header") {
        "a section header is a name in square brackets, like [patch] or [[step]]; close it with ]".to_owned()
    } else if message.starts_with("invalid basic string") {
        "this text is not closed: end it with \" on the same line".to_owned()
    } else if message.starts_with("invalid string") {
        "a text value goes in double quotes, like name = \"value\" (numbers and true/false go without)".to_owned()
    } else if message.starts_with("expected `.`, `=`") {
        "a key is one word (letters, digits, - and _) followed by = and its value, like name = \"value\"".to_owned()
    } else if message.starts_with("expected newline") {
        "put each key = value on a line of its own".to_owned()
    } else if message.starts_with("invalid array") {
        "a list is closed with ], like [\"a\", \"b\"]".to_owned()
    } else if message.starts_with("invalid inline table") {
        "an inline table is closed with }, like { name = \"value\" }".to_owned()
    } else {
        message.replace('`', "").replace('\n', "; ")
    };
    format!("{said}; fix the TOML syntax here")
}

#[cfg(test)]
mod tests {
    use super::syntax_in_words;

    #[test]
    fn the_parsers_codes_become_advice() {
        let said = |src: &str| syntax_in_words(toml::from_str::<toml::Value>(src).unwrap_err().message());
        assert!(said("[patch]\nsite\n").starts_with("a key is one word"), "{}", said("[patch]\nsite\n"));
        assert!(said("[patch]\nsite = a\n").starts_with("a text value goes in double quotes"));
        assert!(said("[patch]\nsite = \"a\nx = 1\n").starts_with("this text is not closed"));
        assert!(said("[patch\nsite = \"a\"\n").starts_with("a section header"));
        assert_eq!(
            said("[patch]\nsite = \"a\"\nsite = \"b\"\n"),
            "site is given twice in the same section; keep one of them; fix the TOML syntax here"
        );
        assert!(said("[patch]\nsite = \"a\" x = 1\n").starts_with("put each key"));
        assert!(said("[patch]\nsite = [1,\n").starts_with("a list is closed"));
        assert!(said("[patch]\nsite = {a = 1\n").starts_with("an inline table is closed"));
        for src in ["[patch]\nsite\n", "[patch]\nsite = a\n", "[patch]\nsite = [1,\n"] {
            assert!(!said(src).contains('`'), "{}", said(src));
        }
    }
}
