//! Each role is offered only the forms it may submit: a customer and a manager visit every
//! page, and no page shows them a form the server would refuse for their role (no "Add a
//! host", no new-site form with an empty customer list, no editor for a manager); the pages
//! they may not use say why in the access policy's words, and `/sites/abc` says in words that
//! the page does not exist.

use crate::people::{log_in, staffed, PASSWORD};
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

/// Every page of the app, as a person reaches it by link or by typing the address.
const PAGES: &[&str] = &[
    "/",
    "/sites",
    "/sites/new",
    "/sites/1",
    "/sites/1/edit",
    "/sites/1/patches",
    "/approvals",
    "/history",
    "/audit",
    "/hosts",
    "/customers",
    "/users",
    "/account",
];

/// The forms on the page a person could fill in and send: each named by its id, else its
/// submit button's words. A form whose every field is read-only and without a submit button
/// (the runtime manifest shown to a manager) offers nothing.
const OFFERED_FORMS: &str = r#"
    return Array.from(document.querySelectorAll('form')).filter(f =>
        Array.from(f.querySelectorAll('input, textarea, select, button[type=submit]'))
            .some(e => !e.disabled && !e.readOnly && e.type !== 'hidden')
    ).map(f => f.id || ((f.querySelector('button[type=submit]') || {}).textContent || '').trim() || f.className);
"#;

async fn offered_forms(browser: &Browser) -> Vec<String> {
    let answer = browser.client.execute(OFFERED_FORMS, vec![]).await.unwrap();
    serde_json::from_value(answer).unwrap()
}

/// Visits every page and asserts each form offered is one of `may_submit`.
async fn only_these_forms(browser: &Browser, server: &Server, who: &str, may_submit: &[&str]) {
    for page in PAGES {
        browser.settled(&format!("{}{page}", server.url)).await;
        for form in offered_forms(browser).await {
            assert!(
                may_submit.contains(&form.as_str()),
                "{who} is offered the form {form:?} on {page}, which the server refuses them; the page says:\n{}",
                browser.page_text().await
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_and_a_manager_see_no_form_they_cannot_submit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    staffed(&server).await;
    let browser = Browser::start().await;

    // Alice, the demo's customer: her password, her candidates, rehearsals and documents, and
    // the history filters (a search, not a change).
    log_in(&browser, &server, "alice", PASSWORD).await;
    let customer_forms = ["password-form", "upload-form", "rehearsal-form", "Save as new version", "history-filters"];
    only_these_forms(&browser, &server, "alice (customer)", &customer_forms).await;
    // The check sees forms at all: her own password's is offered to her.
    browser.settled(&format!("{}/account", server.url)).await;
    assert!(offered_forms(&browser).await.contains(&"password-form".to_owned()), "no form found on the account page");
    for page in ["/hosts", "/customers", "/users", "/audit", "/sites/new"] {
        browser.settled(&format!("{}{page}", server.url)).await;
        let reason = browser.find("#not-for-you-reason").await.text().await.unwrap();
        assert!(reason.starts_with("This is for the hosting operator's staff"), "{page} tells alice: {reason}");
    }
    // She does get the forms that are hers on her site's pages.
    browser.settled(&format!("{}/sites/1", server.url)).await;
    browser.find("#upload-form").await;
    browser.settled(&format!("{}/sites/1/patches", server.url)).await;
    browser.find("form.editor textarea[name=toml]").await;

    // A site address that is not a number says so, not "site 0 does not exist".
    browser.settled(&format!("{}/sites/abc", server.url)).await;
    let text = browser.find("#no-such-page").await.text().await.unwrap();
    assert!(text.contains("Page not found") && text.contains("names no site"), "{text}");
    assert!(!browser.page_text().await.contains("site 0"), "the page names a site 0");

    // Maria, a manager: reads everything and changes nothing, so only her own password and
    // the history filters.
    browser.find("#logout").await.click().await.unwrap();
    log_in(&browser, &server, "maria", PASSWORD).await;
    only_these_forms(&browser, &server, "maria (manager)", &["password-form", "history-filters"]).await;
    browser.settled(&format!("{}/hosts", server.url)).await;
    browser.find("#hosts").await;
    browser.settled(&format!("{}/sites/1/patches", server.url)).await;
    browser.find("#document-reader").await;
    browser.settled(&format!("{}/sites/new", server.url)).await;
    let reason = browser.find("#not-for-you-reason").await.text().await.unwrap();
    assert_eq!(reason, "Managers review; support staff make changes and run releases.");
    browser.close().await;
}
