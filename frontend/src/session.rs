//! Who is using the app: read from `GET /session` on start, changed by set-up, login and
//! logout, and ended by any 401 from the API. Also what each role is offered; the server
//! enforces the same rules whatever the UI offers.

use crate::api;
use leptos::prelude::*;
use std::cell::Cell;
use switchyard_api::{ApiError, Me, Role};

/// Where the app stands with the server.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionState {
    Loading,
    /// `GET /session` failed: the server is down or not a Switchyard server.
    Unreachable(ApiError),
    /// No user exists yet: the first visitor creates the administrator.
    NeedsSetup,
    /// Nobody is logged in; `notice` says why when the session ended by itself.
    LoggedOut {
        notice: Option<String>,
    },
    LoggedIn(Me),
}

/// The app-wide session, provided as context by [`Session::start`].
#[derive(Clone, Copy)]
pub struct Session {
    pub state: RwSignal<SessionState>,
}

thread_local! {
    // The API client has no reactive owner of its own, so a 401 reaches the session through here.
    static CURRENT: Cell<Option<RwSignal<SessionState>>> = const { Cell::new(None) };
}

impl Session {
    /// Creates the session, makes it the context of everything below, and asks the server.
    pub fn start() -> Self {
        let session = Self { state: RwSignal::new(SessionState::Loading) };
        CURRENT.with(|current| current.set(Some(session.state)));
        provide_context(session);
        session.refresh();
        session
    }

    pub fn refresh(self) {
        leptos::task::spawn_local(async move {
            let state = match api::session().await {
                Ok(info) if info.needs_setup => SessionState::NeedsSetup,
                Ok(info) => match info.me {
                    Some(me) => SessionState::LoggedIn(me),
                    None => SessionState::LoggedOut { notice: None },
                },
                Err(error) => SessionState::Unreachable(error),
            };
            self.state.set(state);
        });
    }

    pub fn logged_in(self, me: Me) {
        self.state.set(SessionState::LoggedIn(me));
    }

    pub fn log_out(self) {
        leptos::task::spawn_local(async move {
            // Whatever the server says, this window forgets the user.
            let _ = api::logout().await;
            self.state.set(SessionState::LoggedOut { notice: Some("You have logged out.".into()) });
        });
    }

    /// The logged-in user; pages that only exist behind login use this.
    pub fn me(self) -> Option<Me> {
        self.state.with(|state| match state {
            SessionState::LoggedIn(me) => Some(me.clone()),
            _ => None,
        })
    }
}

/// The page's session.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The logged-in user, read once (pages are only mounted while someone is logged in).
pub fn current_user() -> Me {
    use_session().me().expect("pages are shown only while someone is logged in")
}

/// Called by the API client on any 401: the session ended, so show the login page again.
pub fn expired() {
    if let Some(state) = CURRENT.with(Cell::get) {
        if matches!(state.get_untracked(), SessionState::LoggedIn(_)) {
            state.set(SessionState::LoggedOut { notice: Some("Your session has ended. Log in again to carry on where you were.".into()) });
        }
    }
}

/// What the UI offers each role. Support staff manage sites, hosts and customers and decide on
/// releases; customers upload and rehearse; managers read history.
pub fn is_support(me: &Me) -> bool {
    me.role == Role::Support
}

pub fn is_customer(me: &Me) -> bool {
    me.role == Role::Customer
}

/// Who uploads candidates and starts rehearsals: the customer, and support on their behalf.
pub fn may_rehearse(me: &Me) -> bool {
    is_customer(me) || is_support(me)
}
