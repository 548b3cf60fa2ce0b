//! The desktop app starts under X, opens its embedded store and renders the same UI: the
//! first-run set-up signs the administrator in, the site list shows the seeded demo, and a
//! site created from the window is stored.

use crate::desktop_steps::{set_up_administrator, sql, wait_for_text};
use fantoccini::Locator;
use switchyard_e2e::desktop::DesktopApp;

#[tokio::test(flavor = "multi_thread")]
async fn the_desktop_app_renders_the_site_list_from_its_embedded_store() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("store");
    let app = DesktopApp::start(&data, scratch.path()).await;

    // A fresh store: the window offers the first-run set-up, and the shell keeps the session.
    set_up_administrator(&app, "desk").await;
    let text = wait_for_text(&app, "Acme Shop").await;
    assert!(text.contains("Sites"), "{text}");
    assert!(text.contains("Acme Outfitters"), "{text}");

    // The window's requests go through the in-process API: a form submit writes the store file.
    // The start page is the dashboard; sites are made from the sites list.
    app.client.find(Locator::Css("#nav [data-nav='/sites']")).await.unwrap().click().await.unwrap();
    app.client.wait().for_element(Locator::Css("#new-site")).await.unwrap().click().await.unwrap();
    wait_for_text(&app, "New site").await;
    app.client.find(Locator::Css("input[name=name]")).await.unwrap().send_keys("Desk Site").await.unwrap();
    app.client.find(Locator::Css("select[name=customer_id]")).await.unwrap().select_by_label("Acme Outfitters").await.unwrap();
    app.client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&app, "Environments").await;
    let heading = app.client.find(Locator::Css("#site-name")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "Desk Site");
    app.close().await;

    assert!(data.join("switchyard.db").is_file(), "the store lives in SWITCHYARD_DATA");
    assert_eq!(sql(&data.join("switchyard.db"), "SELECT name FROM sites ORDER BY name"), "Acme Shop\nDesk Site\n");
}
