//! `switchyard login` and `switchyard logout`: open a session on a server and keep it in the
//! user's configuration directory, or end it there and here.

use crate::remote::{ApiFailure, Remote, RemoteArgs, DEFAULT_URL};
use crate::session_file::{self, SavedSession};
use anyhow::{Context, Result};
use reqwest::{Method, StatusCode};
use std::io::{BufRead, Write};
use switchyard_api::{Login, Me};

#[derive(clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// Your Switchyard user name.
    #[arg(long)]
    username: String,
    /// The 6-digit code from your authenticator app, if your account has a second factor.
    #[arg(long, env = "SWITCHYARD_TOTP_CODE")]
    code: Option<String>,
}

#[derive(clap::Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Logs in with the password from `SWITCHYARD_PASSWORD` or typed at the terminal, and saves
/// the session for the commands that follow.
pub async fn login(args: LoginArgs) -> Result<i32> {
    let url = args.remote.explicit_url().unwrap_or_else(|| DEFAULT_URL.to_owned());
    let password = match std::env::var("SWITCHYARD_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => read_password(&format!("Password for {} at {url}: ", args.username))?,
    };
    let remote = Remote::anonymous(url.clone())?;
    let body = Login { username: args.username.clone(), password, code: args.code.clone() };
    let reply = remote
        .send_raw(remote.request(Method::POST, "/session").json(&body))
        .await
        .with_context(|| format!("cannot log in to {url} as {}", args.username))?;
    let token = reply
        .headers()
        .get("x-switchyard-session")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| format!("{url} accepted the login but sent no session token; is it a Switchyard server of this version?"))?;
    let me: Me = reply.json().await.context("the server's answer to the login does not read")?;
    let path = session_file::save(&SavedSession { url: url.clone(), token, username: me.username.clone() })?;
    let admin = if me.admin { ", administrator" } else { "" };
    println!("Logged in to {url} as {} ({}{admin}); session saved in {}", me.username, me.role, path.display());
    Ok(0)
}

/// Ends the session on the server (when it still answers) and deletes the saved one.
pub async fn logout(args: LogoutArgs) -> Result<i32> {
    let remote = match Remote::connect(&args.remote) {
        Ok(remote) => remote,
        Err(_) => {
            let removed = session_file::remove()?;
            println!("{}", if removed { "Deleted the saved session." } else { "Not logged in; nothing to do." });
            return Ok(0);
        }
    };
    let ended = remote.send_raw(remote.request(Method::DELETE, "/session")).await;
    let removed = session_file::remove()?;
    match ended {
        Ok(_) => println!("Logged out of {}{}", remote.url, if removed { "; deleted the saved session." } else { "." }),
        Err(e) if e.downcast_ref::<ApiFailure>().is_some_and(|f| f.status == StatusCode::UNAUTHORIZED) => {
            println!("The session had already ended on {}; deleted the saved session.", remote.url)
        }
        Err(e) => {
            eprintln!("Deleted the saved session, but could not end it on the server: {e:#}");
            return Ok(2);
        }
    }
    Ok(0)
}

/// Reads a password from the controlling terminal with echo off, so it shows neither on the
/// screen nor in the shell's history.
fn read_password(prompt: &str) -> Result<String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("there is no terminal to ask for the password on; set SWITCHYARD_PASSWORD")?;
    let mut out = tty.try_clone().context("cannot use the terminal")?;
    out.write_all(prompt.as_bytes()).and_then(|()| out.flush()).context("cannot write to the terminal")?;
    let line = {
        let _quiet = EchoOff::on(&tty)?;
        let mut line = String::new();
        std::io::BufReader::new(&tty).read_line(&mut line).context("cannot read the password from the terminal")?;
        line
    };
    let _ = out.write_all(b"\n");
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        anyhow::bail!("no password was typed; nothing was sent");
    }
    Ok(password)
}

/// Terminal echo switched off until dropped.
struct EchoOff {
    fd: std::os::fd::RawFd,
    saved: libc::termios,
}

impl EchoOff {
    fn on(tty: &std::fs::File) -> Result<Self> {
        use std::os::fd::AsRawFd;
        let fd = tty.as_raw_fd();
        // SAFETY: `termios` is plain data, and `fd` is an open terminal for both calls.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            anyhow::bail!("cannot switch off echo on the terminal ({}); set SWITCHYARD_PASSWORD", std::io::Error::last_os_error());
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: as above; `quiet` is a valid copy of the terminal's settings.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
            anyhow::bail!("cannot switch off echo on the terminal ({}); set SWITCHYARD_PASSWORD", std::io::Error::last_os_error());
        }
        Ok(Self { fd, saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read from the same, still open, terminal.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}
