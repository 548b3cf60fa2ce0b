//! A customer writes a patch document: starts from a workflow's template, is told line by line
//! what is wrong while typing, and saves it as the site's next version, never overwriting one.

use serde_json::json;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

#[tokio::test(flavor = "multi_thread")]
async fn documents_are_checked_with_line_numbers_and_saved_as_new_versions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let template = server.get_json("/sites/1/patch-template?workflow=migration").await;
    let toml = template["toml"].as_str().unwrap().to_owned();
    assert!(toml.contains("site = \"Acme Shop\"") && toml.contains("workflow = \"migration\""), "{toml}");

    // The demo site may already carry the document of its demo release.
    let base = server.get_json("/sites/1/patch-documents").await.as_array().unwrap().len() as i64;
    let first = server.post_json("/sites/1/patch-documents", &json!({"toml": toml})).await;
    assert_eq!(first["version"], base + 1, "{first}");
    let second = server.post_json("/sites/1/patch-documents", &json!({"toml": toml})).await;
    assert_eq!(second["version"], base + 2, "{second}");
    assert!(second["toml"].as_str().unwrap().contains(&format!("version = {}", base + 2)), "the stored document carries its version");
    assert!(second["summary"].as_str().unwrap().lines().count() >= 5, "{second}");

    // A migration without its site-down page is refused, and the message names the line.
    let unsafe_migration = toml.replacen("action = \"site-down-page\"\non = true", "action = \"health-check\"", 1);
    let refused = server.post_json("/sites/1/patch-documents", &json!({"toml": unsafe_migration})).await;
    assert_eq!(refused["error"], "invalid input", "{refused}");
    let problems: Vec<&str> = refused["fields"].as_array().unwrap().iter().map(|f| f["message"].as_str().unwrap()).collect();
    assert!(problems.iter().all(|p| p.starts_with("line ")), "{problems:?}");

    let elsewhere = toml.replace("site = \"Acme Shop\"", "site = \"Other Shop\"");
    let wrong_site = server.post_json("/sites/1/patch-documents", &json!({"toml": elsewhere})).await;
    assert!(wrong_site["detail"].as_str().unwrap().contains("set site = \"Acme Shop\""), "{wrong_site}");

    let versions = server.get_json("/sites/1/patch-documents").await;
    let numbers: Vec<i64> = versions.as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=base + 2).rev().collect();
    assert_eq!(numbers, expected, "refused documents are not saved; newest first");

    // The editor in a real browser: template, live problems while typing, save.
    let browser = Browser::start().await;
    server.sign_in(&browser, "/sites/1/patches").await;
    browser.wait_for_text(&format!("v{} · migration", base + 2)).await;
    // It opens on the latest version, its lines numbered.
    browser.wait_for_text("Valid.").await;
    let opened = browser.find("textarea[name=toml]").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(opened.contains("workflow = \"migration\""), "the editor did not open on the latest version: {opened}");
    let numbered = browser.client.find_all(fantoccini::Locator::Css("#editor-lines li")).await.unwrap().len();
    assert_eq!(numbered, opened.lines().count(), "one number per line");
    browser.find("select[name=workflow]").await.select_by_value("no-migration").await.unwrap();
    browser.find("form.editor button[type=button]").await.click().await.unwrap();
    browser.wait_for_text("Valid.").await;
    let editor = browser.find("textarea[name=toml]").await;
    let loaded = editor.prop("value").await.unwrap().unwrap_or_default();
    assert!(loaded.contains("workflow = \"no-migration\""), "{loaded}");

    editor.clear().await.unwrap();
    editor.send_keys("[patch]\nsite = \"Acme Shop\"\nversion 2\n").await.unwrap();
    browser.wait_for_text("Line 3: ").await;
    // The failing line is marked beside it, and the problem is said in the document's terms.
    browser.find("#editor-lines li.bad[data-line='3']").await;
    let problems = browser.find("#check.problems").await.text().await.unwrap();
    assert!(problems.contains("followed by = and its value") && !problems.contains('`'), "{problems}");

    browser.find("form.editor button[type=button]").await.click().await.unwrap();
    browser.wait_for_text("Valid.").await;
    browser.find("form.editor button[type=submit]").await.click().await.unwrap();
    browser.wait_for_text(&format!("Saved as version {}.", base + 3)).await;
    browser.wait_for_text(&format!("v{} · no-migration", base + 3)).await;
    browser.close().await;
}
