//! The administrator adds people from the Users page: a customer user with a password logs in
//! at once, one without cannot until a password is set, an administrator flag is refused for a
//! customer, and every change shows up in the audit log with who made it.

use crate::people::{log_in, navigation, present, staffed, ADMIN};
use fantoccini::Locator;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

async fn fill(browser: &Browser, name: &str, text: &str) {
    let input = browser.find(&format!("form.card input[name={name}]")).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn can_log_in(browser: &Browser, username: &str) -> String {
    let cell = browser.find(&format!("#users tr.user[data-username='{username}'] .user-can-log-in")).await;
    cell.attr("data-can-log-in").await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_administrator_adds_people_with_and_without_passwords_and_the_audit_log_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    staffed(&server).await;
    let browser = Browser::start().await;
    log_in(&browser, &server, ADMIN.0, ADMIN.1).await;
    browser.client.find(Locator::Css("#nav [data-nav='/users']")).await.unwrap().click().await.unwrap();
    assert_eq!(can_log_in(&browser, "alice").await, "true");

    // A customer cannot be an administrator; the rule is shown beside the checkbox.
    fill(&browser, "username", "carol").await;
    fill(&browser, "display_name", "Carol (Acme)").await;
    browser.find("form.card select[name=role]").await.select_by_value("customer").await.unwrap();
    browser.find("form.card select[name=customer_id]").await.select_by_label("Acme Outfitters").await.unwrap();
    browser.find("form.card input[name=admin]").await.click().await.unwrap();
    fill(&browser, "password", "carol's long password").await;
    browser.find("form.card button[type=submit]").await.click().await.unwrap();
    let refused = browser.find(".field-error[data-field=admin]").await.text().await.unwrap();
    assert!(refused.contains("customers cannot administer"), "{refused}");
    browser.find("form.card input[name=admin]").await.click().await.unwrap();
    browser.find("form.card button[type=submit]").await.click().await.unwrap();
    assert_eq!(can_log_in(&browser, "carol").await, "true");

    // Without a password a user exists but cannot log in yet.
    fill(&browser, "username", "dan").await;
    browser.find("form.card select[name=role]").await.select_by_value("manager").await.unwrap();
    browser.find("form.card button[type=submit]").await.click().await.unwrap();
    assert_eq!(can_log_in(&browser, "dan").await, "false");

    // Editing sets a new password; dan can log in afterwards.
    let row = browser.find("#users tr.user[data-username='dan']").await;
    row.find(Locator::Css(".row-actions .link")).await.unwrap().click().await.unwrap();
    fill(&browser, "password", "dan's brand new password").await;
    browser.find("form.card button[type=submit]").await.click().await.unwrap();
    browser.client.wait().for_element(Locator::Css("#users tr.user[data-username='dan'] [data-can-log-in='true']")).await.unwrap();

    browser.client.find(Locator::Css("#nav [data-nav='/audit']")).await.unwrap().click().await.unwrap();
    browser.find("#audit tr.audit-entry[data-action='user.create']").await;
    let audit = browser.find("#audit").await.text().await.unwrap();
    assert!(audit.contains("carol") && audit.contains(ADMIN.0), "{audit}");

    browser.find("#logout").await.click().await.unwrap();
    log_in(&browser, &server, "dan", "dan's brand new password").await;
    assert_eq!(navigation(&browser).await, ["Dashboard", "History", "Sites", "Audit"]);
    browser.find("#logout").await.click().await.unwrap();
    log_in(&browser, &server, "carol", "carol's long password").await;
    assert_eq!(navigation(&browser).await, ["Dashboard", "My sites"]);
    assert!(!present(&browser, "#nav [data-nav='/users']").await);
    browser.close().await;
}
