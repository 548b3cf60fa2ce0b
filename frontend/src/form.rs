//! Form building blocks: fields that show their own validation message, and the state of a
//! submit (busy, the last error) shared by a form's fields.

use leptos::prelude::*;
use switchyard_api::ApiError;
use switchyard_core::Invalid;

/// The state of one form: whether a submit is under way and what the last one was told.
#[derive(Clone, Copy)]
pub struct FormState {
    pub error: RwSignal<Option<ApiError>>,
    pub busy: RwSignal<bool>,
}

impl FormState {
    pub fn new() -> Self {
        Self { error: RwSignal::new(None), busy: RwSignal::new(false) }
    }

    pub fn field_message(&self, field: &str) -> Option<String> {
        self.error.with(|error| error.as_ref().and_then(|e| e.field_message(field)).map(str::to_owned))
    }

    /// Shows the rules a draft broke, checked in the browser with the server's own rules before
    /// anything is sent.
    pub fn reject(&self, invalid: Invalid) {
        let mut error = ApiError::new("invalid input", invalid.to_string());
        error.fields = invalid.0;
        self.error.set(Some(error));
    }

    pub fn clear(&self) {
        self.error.set(None);
    }

    /// The one way a form submits: a draft that broke its rules (`checked`, run in the browser)
    /// is shown at once; otherwise `request` is sent while the form is busy, `on_saved` gets
    /// the server's answer, and a refusal lands on the form.
    pub fn submit<T: 'static>(
        self,
        checked: Result<(), Invalid>,
        request: impl std::future::Future<Output = crate::api::ApiResult<T>> + 'static,
        on_saved: impl FnOnce(T) + 'static,
    ) {
        if let Err(invalid) = checked {
            return self.reject(invalid);
        }
        self.clear();
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let result = request.await;
            self.busy.set(false);
            match result {
                Ok(saved) => on_saved(saved),
                Err(error) => self.error.set(Some(error)),
            }
        });
    }
}

#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    form: FormState,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    input_field(InputKind { input_type: "text", autocomplete: "on" }, label, name, value, form, placeholder, hint)
}

/// What kind of `<input>` a field is.
struct InputKind {
    input_type: &'static str,
    autocomplete: &'static str,
}

/// A labelled input with its validation message (or its hint) below it.
fn input_field(
    kind: InputKind,
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    form: FormState,
    placeholder: &'static str,
    hint: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input
                type=kind.input_type
                name=name
                autocomplete=kind.autocomplete
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                class:invalid=move || form.field_message(name).is_some()
            />
            {move || match form.field_message(name) {
                Some(message) => view! { <span class="field-error" data-field=name>{message}</span> }.into_any(),
                None if !hint.is_empty() => view! { <span class="field-hint">{hint}</span> }.into_any(),
                None => ().into_any(),
            }}
        </label>
    }
}

#[component]
pub fn SelectField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    form: FormState,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <select
                name=name
                on:change=move |ev| value.set(event_target_value(&ev))
                class:invalid=move || form.field_message(name).is_some()
            >
                <option value="" selected=move || value.get().is_empty()>"Choose…"</option>
                {move || {
                    options
                        .get()
                        .into_iter()
                        .map(|(option_value, text)| {
                            let selected_value = option_value.clone();
                            view! {
                                <option value=option_value selected=move || value.get() == selected_value>
                                    {text}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
            {move || form.field_message(name).map(|message| view! { <span class="field-error" data-field=name>{message}</span> })}
        </label>
    }
}

/// A password input that shows its own validation message, like [`TextField`]; `autocomplete`
/// tells password managers what it is ("current-password", "new-password").
#[component]
pub fn PasswordField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    form: FormState,
    #[prop(optional)] hint: &'static str,
    #[prop(default = "current-password")] autocomplete: &'static str,
) -> impl IntoView {
    input_field(InputKind { input_type: "password", autocomplete }, label, name, value, form, "", hint)
}

/// The form-wide message: shown for errors that belong to no single field (a duplicate name,
/// a server that cannot be reached), or for every error with `all` on a form whose fields do
/// not show their own messages (a decision's buttons).
#[component]
pub fn FormBanner(form: FormState, #[prop(optional)] all: bool) -> impl IntoView {
    move || {
        form.error.get().filter(|e| all || e.fields.is_empty()).map(|error| {
            view! {
                <div class="banner error" role="alert">
                    <strong>{error.for_people().0}</strong>
                    " "
                    <span>{error.for_people().1}</span>
                </div>
            }
        })
    }
}

/// A page-level failure to load something, with what to do about it.
#[component]
pub fn LoadError(error: ApiError) -> impl IntoView {
    let (headline, detail) = error.for_people();
    view! {
        <div class="banner error" role="alert">
            <strong>{headline}</strong>
            " "
            <span>{detail}</span>
        </div>
    }
}

/// Parses an id chosen in a select; empty means "none chosen", which validation reports.
pub fn chosen_id(value: &str) -> i64 {
    value.parse().unwrap_or(0)
}

/// A list row's Edit and Remove buttons. Remove deletes `delete_path` through the API, then
/// reloads the list or shows on `list_form` why it could not.
#[component]
pub fn RowActions(
    on_edit: impl Fn() + 'static,
    delete_path: String,
    list_form: FormState,
    reload: impl Fn() + Copy + 'static,
) -> impl IntoView {
    view! {
        <td class="row-actions">
            <button class="link" on:click=move |_| on_edit()>"Edit"</button>
            " "
            <button class="link danger" on:click=move |_| crate::pages::delete_row(delete_path.clone(), list_form, reload)>
                "Remove"
            </button>
        </td>
    }
}

/// The submit button of a form that both adds and edits (`editing` holds the id being
/// edited), with Cancel while editing.
#[component]
pub fn AddOrSaveActions(
    noun: &'static str,
    editing: RwSignal<Option<i64>>,
    reset: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="submit" class="button primary">
                {move || if editing.get().is_some() { format!("Save {noun}") } else { format!("Add {noun}") }}
            </button>
            <Show when=move || editing.get().is_some()>
                <button type="button" class="button" on:click=move |_| reset()>"Cancel"</button>
            </Show>
        </div>
    }
}
