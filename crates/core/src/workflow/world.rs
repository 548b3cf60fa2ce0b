//! A model of the hosts and router for tests: it applies commands the way agents would, so a
//! test can ask what the public address serves after any sequence of transitions.

use super::command::{Command, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Old,
    New,
}

/// What the accounts address (`*.<public>`) points at, as the router's table says it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Accounts {
    /// One environment serves every account.
    Env(Env),
    /// `percent` of accounts on `candidate`, the rest on `stable`, pinned accounts (if any) on
    /// `pins`. A swap exchanges the environments everywhere, as the router's does.
    Split { stable: Env, candidate: Env, percent: u8, pins: Option<Env> },
}

fn other(env: Env) -> Env {
    match env {
        Env::Production => Env::Candidate,
        Env::Candidate => Env::Production,
    }
}

/// Whether a database holds every write visitors were answered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Writes {
    Complete,
    /// It lacks writes made on this environment, all of them captured there since.
    Replayable(Env),
    /// It lacks writes nothing can bring back.
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Environment {
    pub active: Version,
    pub previous: Option<Version>,
    pub running: bool,
    /// The schema of this environment's own database (unused when the database is shared).
    pub schema: Version,
    /// What this environment's own database holds of visitors' writes.
    pub writes: Writes,
    /// Whether the environment's writes are being captured.
    pub capturing: bool,
}

/// Everything a user of the site could notice, plus what the release left behind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct World {
    pub production: Environment,
    pub candidate: Option<Environment>,
    /// Which environment the public address points at.
    pub public: Env,
    /// The router's maintenance flag: every address of the site, the temporary one included,
    /// shows the site-down page.
    pub site_down: bool,
    /// Where production moved; the public address shows the site-down page meanwhile.
    pub temporary: Option<Env>,
    pub hold: bool,
    /// The accounts address, for a site with customer accounts.
    pub accounts: Option<Accounts>,
    pub snapshot: Option<Version>,
    /// A write reached the snapshotted database after its snapshot was taken.
    pub snapshot_stale: bool,
    /// Blue-green: the candidate uses production's database.
    pub shared_database: bool,
    pub rehearsed: bool,
    /// Whether any command changed production's code, service or addresses' release.
    pub production_touched: bool,
    /// The site's code refuses to run on a database of another schema (as the sample site
    /// does): a migration's new code needs the migrated schema, its old code the old one.
    pub schema_strict: bool,
    /// The release's migration is an expand step: the old code also serves the migrated
    /// schema (it only adds what the old code ignores), while the new code still needs it.
    pub expand: bool,
}

impl World {
    /// Production serving v1 with no clone; `with_clone` adds the rehearsed clone running v2.
    pub fn before(with_clone: bool, shared_database: bool) -> World {
        let old = Environment {
            active: Version::Old,
            previous: None,
            running: true,
            schema: Version::Old,
            writes: Writes::Complete,
            capturing: false,
        };
        let candidate = with_clone.then_some(Environment { active: Version::New, previous: Some(Version::Old), ..old.clone() });
        World {
            production: old,
            candidate,
            public: Env::Production,
            site_down: false,
            temporary: None,
            hold: false,
            accounts: None,
            snapshot: None,
            snapshot_stale: false,
            shared_database,
            rehearsed: false,
            production_touched: false,
            schema_strict: false,
            expand: false,
        }
    }

    /// The same world with customer accounts at `*.<public>`, served by production.
    pub fn with_accounts(self) -> World {
        World { accounts: Some(Accounts::Env(Env::Production)), ..self }
    }

    /// The same world with a site whose code refuses any schema but its own.
    pub fn schema_strict(self) -> World {
        World { schema_strict: true, ..self }
    }

    /// The same world for a release whose migration the old code can run on.
    pub fn expanding(self) -> World {
        World { expand: true, ..self }
    }

    /// Whether `code` can serve a database of `schema`.
    fn can_serve(&self, code: Version, schema: Version) -> bool {
        code == schema || (self.expand && code == Version::Old && schema == Version::New)
    }

    fn env(&mut self, env: Env) -> &mut Environment {
        if env == Env::Production {
            self.production_touched = true;
            &mut self.production
        } else {
            self.candidate.as_mut().expect("a command used the candidate before it was cloned")
        }
    }

    pub fn apply(&mut self, command: &Command) {
        match command {
            Command::CloneEnvironment { from, to } => {
                assert_eq!((*from, *to), (Env::Production, Env::Candidate));
                // A clone is a copy of production's data; its source's capture stays there.
                self.candidate = Some(Environment { capturing: false, ..self.production.clone() });
            }
            Command::DiscardEnvironment { env } => {
                assert_eq!(*env, Env::Candidate, "production is never discarded");
                self.candidate = None;
            }
            Command::UploadRelease { env, .. } | Command::UnpackRelease { env, .. } => {
                self.env(*env);
            }
            Command::ActivateRelease { env, .. } => {
                let e = self.env(*env);
                e.previous = Some(e.active);
                e.active = Version::New;
            }
            Command::ActivatePreviousRelease { env } => {
                let e = self.env(*env);
                e.active = e.previous.unwrap_or(e.active);
            }
            Command::StopService { env } => self.env(*env).running = false,
            Command::StartService { env } => self.env(*env).running = true,
            // A migration step moves the schema forward; its rollback command moves it back.
            Command::RunStep { env, command, .. } => {
                let schema = if command.contains("--down") { Version::Old } else { Version::New };
                *self.database(*env) = schema;
            }
            // A sync copies the whole database (a files-only one changes no data here).
            Command::SyncData { from, to, scope } => {
                if *scope != crate::patch::SyncScope::Files && !self.shared_database {
                    let copied = *self.writes(*from);
                    *self.writes(*to) = copied;
                }
            }
            Command::Maintenance { on } => self.site_down = *on,
            Command::MoveToTemporaryAddress { env } => self.temporary = Some(*env),
            Command::ReturnFromTemporaryAddress { .. } => self.temporary = None,
            // The router swaps every target naming the two environments: splits and pins too.
            Command::SwapAddresses => {
                self.public = other(self.public);
                self.accounts = self.accounts.take().map(|accounts| match accounts {
                    Accounts::Env(env) => Accounts::Env(other(env)),
                    Accounts::Split { stable, candidate, percent, pins } => {
                        Accounts::Split { stable: other(stable), candidate: other(candidate), percent, pins: pins.map(other) }
                    }
                });
            }
            // The engine names production's and the candidate's agent environments as they
            // were when the release was created, whatever a swap did since.
            Command::RouteBack => self.accounts = Some(Accounts::Env(Env::Production)),
            Command::SetAccountSplit { percent, pinned } => {
                self.accounts = Some(Accounts::Split {
                    stable: Env::Production,
                    candidate: Env::Candidate,
                    percent: *percent,
                    pins: (!pinned.is_empty()).then_some(Env::Candidate),
                });
            }
            Command::PointAccounts { env } => self.accounts = Some(Accounts::Env(*env)),
            Command::Hold { on } => self.hold = *on,
            Command::SnapshotDatabase { env } => {
                self.snapshot = Some(*self.database(*env));
                self.snapshot_stale = false;
            }
            // The engine stops the site, restores its database and starts it again on the
            // release it has: a database change, so it leaves `production_touched` alone.
            Command::RestoreSnapshot { env } => {
                let snapshot = self.snapshot.expect("a restore without a snapshot");
                *self.database(*env) = snapshot;
                if self.snapshot_stale {
                    *self.writes(*env) = Writes::Lost;
                }
                match env {
                    Env::Production => self.production.running = true,
                    Env::Candidate => self.candidate.as_mut().expect("no candidate to restore").running = true,
                }
            }
            Command::StartCapture { env } => self.env_data(*env).capturing = true,
            // What is not replayed by now never will be.
            Command::StopCapture { env } => {
                self.env_data(*env).capturing = false;
                for e in self.environments_mut() {
                    if e.writes == Writes::Replayable(*env) {
                        e.writes = Writes::Lost;
                    }
                }
            }
            Command::ReplayChanges { from, into, .. } => {
                if *self.writes(*into) == Writes::Replayable(*from) {
                    *self.writes(*into) = Writes::Complete;
                }
            }
            Command::HealthCheck { .. } | Command::Wait { .. } | Command::CompareSchemas { .. } => {}
            Command::RecordRehearsal { .. } => self.rehearsed = true,
        }
    }

    /// The environment without marking production touched (its data, not its code).
    fn env_data(&mut self, env: Env) -> &mut Environment {
        match env {
            Env::Production => &mut self.production,
            Env::Candidate => self.candidate.as_mut().expect("a command used the candidate before it was cloned"),
        }
    }

    fn environments_mut(&mut self) -> impl Iterator<Item = &mut Environment> {
        std::iter::once(&mut self.production).chain(self.candidate.as_mut())
    }

    /// What `env`'s database holds of the writes (production's when the database is shared).
    fn writes(&mut self, env: Env) -> &mut Writes {
        match (env, self.shared_database) {
            (Env::Production, _) | (Env::Candidate, true) => &mut self.production.writes,
            (Env::Candidate, false) => &mut self.candidate.as_mut().expect("no candidate database").writes,
        }
    }

    /// Visitors write through the public address whenever it serves: the serving database
    /// takes the write, every other falls behind (replayably, while the serving environment's
    /// writes are captured and it was complete), and a snapshot of it goes stale.
    pub fn visitors_write(&mut self) {
        if self.serving().is_none() {
            return;
        }
        let serving = self.public;
        let shared = self.shared_database;
        if shared || serving == Env::Production {
            self.snapshot_stale = true;
        }
        let capturing = self.env_data(serving).capturing;
        let behind = |writes: Writes| match writes {
            Writes::Complete | Writes::Replayable(_) if capturing && writes != Writes::Replayable(other(serving)) => {
                Writes::Replayable(serving)
            }
            _ => Writes::Lost,
        };
        if shared {
            return;
        }
        let other_env = other(serving);
        if let Some(e) = match other_env {
            Env::Production => Some(&mut self.production),
            Env::Candidate => self.candidate.as_mut(),
        } {
            e.writes = behind(e.writes);
        }
    }

    /// What the database visitors are served from holds of their writes.
    pub fn served_writes(&self) -> Option<Writes> {
        self.serving()?;
        let e = match (self.public, self.shared_database) {
            (Env::Production, _) | (Env::Candidate, true) => &self.production,
            (Env::Candidate, false) => self.candidate.as_ref()?,
        };
        Some(e.writes)
    }

    /// Database changes are tracked apart from `production_touched`: a blue-green migration
    /// changes the shared database by design, while production's code stays untouched.
    fn database(&mut self, env: Env) -> &mut Version {
        match (env, self.shared_database) {
            (Env::Production, _) | (Env::Candidate, true) => &mut self.production.schema,
            (Env::Candidate, false) => &mut self.candidate.as_mut().expect("no candidate database").schema,
        }
    }

    /// (version, schema) of `env` if it runs.
    fn runs(&self, env: Env) -> Option<(Version, Version)> {
        let e = match env {
            Env::Production => &self.production,
            Env::Candidate => self.candidate.as_ref()?,
        };
        let schema = if self.shared_database { self.production.schema } else { e.schema };
        e.running.then_some((e.active, schema))
    }

    /// An environment running code on a database of a schema it cannot serve, which a
    /// schema-strict site refuses (it would not start, or would fail its requests). After an
    /// expand migration the old code still serves; the new code never serves the old schema.
    pub fn refused_schema(&self) -> Option<Env> {
        if !self.schema_strict {
            return None;
        }
        [Env::Production, Env::Candidate]
            .into_iter()
            .find(|&env| self.runs(env).is_some_and(|(code, schema)| !self.can_serve(code, schema)))
    }

    /// What the temporary address serves: production moved there, unless the site-down page
    /// or held requests cover the whole site.
    pub fn at_temporary_address(&self) -> Option<(Version, Version)> {
        if self.site_down || self.hold {
            return None;
        }
        self.runs(self.temporary?)
    }

    /// What the candidate's own address serves (where the customer tests a rehearsal).
    pub fn at_candidate_address(&self) -> Option<(Version, Version)> {
        if self.site_down || self.hold {
            return None;
        }
        self.runs(Env::Candidate)
    }

    /// What the public address serves: (version, schema), or `None` while it shows the
    /// site-down page or holds requests.
    pub fn at_public_address(&self) -> Option<(Version, Version)> {
        if self.site_down || self.hold || self.temporary.is_some() {
            return None;
        }
        self.runs(self.public)
    }

    /// What every account gets at the accounts address, or `None` while it shows the
    /// site-down page, holds requests, or accounts get different versions.
    pub fn at_every_account(&self) -> Option<(Version, Version)> {
        if self.site_down || self.hold {
            return None;
        }
        let envs = match self.accounts.as_ref()? {
            Accounts::Env(env) => vec![*env],
            Accounts::Split { stable, candidate, percent, pins } => {
                let mut envs: Vec<Env> = pins.iter().copied().collect();
                if *percent > 0 {
                    envs.push(*candidate);
                }
                if *percent < 100 {
                    envs.push(*stable);
                }
                envs
            }
        };
        let served: Vec<Option<(Version, Version)>> = envs.iter().map(|env| self.runs(*env)).collect();
        served.iter().all(|s| *s == served[0]).then_some(served[0]).flatten()
    }

    /// What visitors get: what the public address serves, when every account (if the site has
    /// accounts) gets the same; `None` while the site is down or visitors see different versions.
    pub fn serving(&self) -> Option<(Version, Version)> {
        let public = self.at_public_address()?;
        match self.accounts {
            None => Some(public),
            Some(_) => (self.at_every_account()? == public).then_some(public),
        }
    }
}
