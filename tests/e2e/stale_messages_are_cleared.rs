//! A message is cleared when the state it spoke of moves on: a patch document the server
//! refused to save stops showing the refusal once it is edited into one that is valid, so
//! "Valid." never stands above an old error.

use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

/// Replaces the editor's text the way typing does (an `input` event), in one step.
async fn type_document(browser: &Browser, text: &str) {
    let script = "const t = document.querySelector('textarea[name=toml]'); t.value = arguments[0]; \
                  t.dispatchEvent(new Event('input', { bubbles: true }));";
    browser.client.execute(script, vec![serde_json::json!(text)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_save_is_not_shown_under_a_document_that_became_valid() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let browser = Browser::start().await;
    server.sign_in(&browser, "/sites/1/patches").await;
    browser.wait_for_text("Valid.").await;
    let latest = browser.find("textarea[name=toml]").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(latest.contains("site = \"Acme Shop\""), "the editor did not open on the site's document: {latest}");

    // Valid as a document, refused by the server: it names another site.
    type_document(&browser, &latest.replace("site = \"Acme Shop\"", "site = \"Other Shop\"")).await;
    browser.wait_for_text("Valid.").await;
    browser.find("form.editor button[type=submit]").await.click().await.unwrap();
    // The server's refusal, under the browser's own "Valid.".
    let refusal = browser.find("form.editor .check.problems:not(#check)").await.text().await.unwrap();
    assert!(refusal.contains("Acme Shop"), "the refusal does not say which site to name: {refusal}");

    // Put right: the refusal goes, "Valid." stands alone.
    type_document(&browser, &latest).await;
    browser.wait_for_text("Valid.").await;
    let left = browser.client.find_all(fantoccini::Locator::Css("form.editor .banner.error, form.editor .check.problems")).await.unwrap();
    assert!(left.is_empty(), "the old refusal stays under a valid document:\n{}", browser.page_text().await);
    browser.close().await;
}
