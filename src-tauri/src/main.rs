//! The desktop app's entry point.

fn main() {
    switchyard_desktop::run();
}
