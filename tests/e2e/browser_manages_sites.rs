//! A support engineer manages sites in a real browser: sees the demo, is told what is wrong
//! with an invalid form, creates a site that survives a reload, and moves around with the
//! browser's back button.

use fantoccini::Locator;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

#[tokio::test(flavor = "multi_thread")]
async fn create_a_site_through_the_ui_and_see_it_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let browser = Browser::start().await;
    let client = &browser.client;

    // The start page is the dashboard; the sites list is where sites are made.
    server.sign_in(&browser, "/sites").await;
    browser.wait_for_text("Acme Shop").await;
    browser.wait_for_text("1 customer · 1 site · 2 environments · 1 host · 4 users").await;

    browser.find("a.button.primary").await.click().await.unwrap();
    browser.find("form input[name=name]").await;
    assert_eq!(browser.path().await, "/sites/new");

    // An empty form is refused in place, field by field.
    browser.find("button[type=submit]").await.click().await.unwrap();
    let name_error = browser.find(".field-error[data-field=name]").await;
    assert_eq!(name_error.text().await.unwrap(), "site name must not be empty");
    let customer_error = browser.find(".field-error[data-field=customer_id]").await;
    assert_eq!(customer_error.text().await.unwrap(), "choose a customer");

    // A name the server knows is taken comes back as a banner, and the form keeps its input.
    browser.find("input[name=name]").await.send_keys("Acme Shop").await.unwrap();
    browser.find("select[name=customer_id]").await.select_by_label("Acme Outfitters").await.unwrap();
    browser.find("button[type=submit]").await.click().await.unwrap();
    browser.wait_for_text("That clashes with how things stand now. A site named \"Acme Shop\" already exists").await;
    assert_eq!(browser.path().await, "/sites/new");

    let name = browser.find("input[name=name]").await;
    name.clear().await.unwrap();
    name.send_keys("Bob's Bakery").await.unwrap();
    browser.find("textarea[name=description]").await.send_keys("Bread, delivered").await.unwrap();
    browser.find("button[type=submit]").await.click().await.unwrap();
    browser.wait_for_text("Bread, delivered").await;
    let heading = browser.find("#site-name").await;
    assert_eq!(heading.text().await.unwrap(), "Bob's Bakery");
    let site_path = browser.path().await;
    assert!(site_path.starts_with("/sites/"), "{site_path}");

    // Add a staging environment from the site page; a bad name is explained first.
    browser.find("#environments input[name=name]").await.send_keys("my env").await.unwrap();
    browser.find("#environments select[name=kind]").await.select_by_label("staging").await.unwrap();
    browser.find("#environments select[name=host_id]").await.select_by_label("local").await.unwrap();
    browser.find("#environments button[type=submit]").await.click().await.unwrap();
    browser.wait_for_text("environment name \"my env\" contains ' '").await;
    let env_name = browser.find("#environments input[name=name]").await;
    env_name.clear().await.unwrap();
    env_name.send_keys("staging").await.unwrap();
    browser.find("#environments button[type=submit]").await.click().await.unwrap();
    browser.find("#environments .badge.staging").await;

    // A reload asks the server again: the site and its environment are really stored.
    client.refresh().await.unwrap();
    assert_eq!(browser.find("#site-name").await.text().await.unwrap(), "Bob's Bakery");
    browser.find("#environments .badge.staging").await;
    assert_eq!(browser.path().await, site_path);

    // The list shows it; the back button returns from a site to the list.
    client.goto(&format!("{}/sites", server.url)).await.unwrap();
    browser.wait_for_text("Bob's Bakery").await;
    client.find(Locator::LinkText("Bob's Bakery")).await.unwrap().click().await.unwrap();
    browser.wait_for_text("Bread, delivered").await;
    client.back().await.unwrap();
    browser.wait_for_text("Acme Shop").await;
    assert_eq!(browser.path().await, "/sites");

    browser.close().await;
}
