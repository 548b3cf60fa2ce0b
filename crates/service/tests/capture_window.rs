//! A site's capture window: support staff set it in whole hours (out of range refused with the
//! range to use), customers and managers may not, `null` goes back to the default, and every
//! change is audited.

use switchyard_api::{CaptureWindowDraft, CustomerDraft, Me, SiteDraft, UserDraft};
use switchyard_core::Role;
use switchyard_service::{Caller, Service, ServiceError};
use switchyard_store::Store;

#[tokio::test]
async fn support_sets_a_sites_capture_window_within_its_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("switchyard.db")).await.expect("store");
    let service = Service::new(store);
    let me = Caller::system();
    let customer = service.create_customer(&me, CustomerDraft { name: "Acme".into(), contact_email: String::new() }).await.unwrap();
    let site =
        service.create_site(&me, SiteDraft { name: "Shop".into(), customer_id: customer.id, description: String::new() }).await.unwrap();

    let default = service.site_capture_window(&me, site.id).await.unwrap();
    assert_eq!((default.hours, default.site_own), (24, false));
    let set = service.set_site_capture_window(&me, site.id, CaptureWindowDraft { hours: Some(72) }).await.unwrap();
    assert_eq!((set.hours, set.site_own), (72, true));
    for hours in [0, 721] {
        match service.set_site_capture_window(&me, site.id, CaptureWindowDraft { hours: Some(hours) }).await {
            Err(ServiceError::Invalid(invalid)) => {
                assert!(invalid.message_for("hours").is_some_and(|m| m.contains("from 1 to 720")), "{invalid:?}")
            }
            other => panic!("{hours} hours accepted: {other:?}"),
        }
    }
    assert_eq!(service.site_capture_window(&me, site.id).await.unwrap().hours, 72, "a refused change changed the window");

    let draft = UserDraft {
        username: "carl".into(),
        display_name: String::new(),
        role: Role::Customer,
        customer_id: Some(customer.id),
        admin: false,
        password: None,
    };
    let carl = service.create_user(&me, draft).await.unwrap();
    let me_carl = Me {
        id: carl.id,
        username: "carl".into(),
        display_name: "Carl".into(),
        role: Role::Customer,
        customer_id: Some(customer.id),
        admin: false,
    };
    let as_carl = Caller { me: me_carl, remote: "test".into() };
    assert!(matches!(
        service.set_site_capture_window(&as_carl, site.id, CaptureWindowDraft { hours: Some(1) }).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert_eq!(service.site_capture_window(&as_carl, site.id).await.unwrap().hours, 72, "the customer reads the site's window");

    let cleared = service.set_site_capture_window(&me, site.id, CaptureWindowDraft { hours: None }).await.unwrap();
    assert_eq!((cleared.hours, cleared.site_own), (24, false));
    let audit = service.audit_log(&me, None, None).await.unwrap();
    let changes = audit.entries.iter().filter(|e| e.action == "site.capture-window").count();
    assert_eq!(changes, 2, "every accepted change is audited, refusals are not");
}
