//! A model of the hosts and router for tests: it applies commands the way agents would, so a
//! test can ask what the public address serves after any sequence of transitions.

use super::command::{Command, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Old,
    New,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Environment {
    pub active: Version,
    pub previous: Option<Version>,
    pub running: bool,
    /// The schema of this environment's own database (unused when the database is shared).
    pub schema: Version,
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
    /// Share of accounts (and whether pinned accounts are) on the candidate.
    pub split: u8,
    pub pinned_on_new: bool,
    pub snapshot: Option<Version>,
    /// Blue-green: the candidate uses production's database.
    pub shared_database: bool,
    pub rehearsed: bool,
    /// Whether any command changed production's code, service or addresses' release.
    pub production_touched: bool,
    /// The site's code refuses to run on a database of another schema (as the sample site
    /// does): a migration's new code needs the migrated schema, its old code the old one.
    pub schema_strict: bool,
}

impl World {
    /// Production serving v1 with no clone; `with_clone` adds the rehearsed clone running v2.
    pub fn before(with_clone: bool, shared_database: bool) -> World {
        let old = Environment { active: Version::Old, previous: None, running: true, schema: Version::Old };
        let candidate = with_clone.then_some(Environment {
            active: Version::New,
            previous: Some(Version::Old),
            running: true,
            schema: Version::Old,
        });
        World {
            production: old,
            candidate,
            public: Env::Production,
            site_down: false,
            temporary: None,
            hold: false,
            split: 0,
            pinned_on_new: false,
            snapshot: None,
            shared_database,
            rehearsed: false,
            production_touched: false,
            schema_strict: false,
        }
    }

    /// The same world with a site whose code refuses any schema but its own.
    pub fn schema_strict(self) -> World {
        World { schema_strict: true, ..self }
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
                self.candidate = Some(self.production.clone());
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
            Command::SyncData { .. } => {}
            Command::Maintenance { on } => self.site_down = *on,
            Command::MoveToTemporaryAddress { env } => self.temporary = Some(*env),
            Command::ReturnFromTemporaryAddress { .. } => self.temporary = None,
            Command::SwapAddresses => {
                self.public = match self.public {
                    Env::Production => Env::Candidate,
                    Env::Candidate => Env::Production,
                }
            }
            Command::RouteBack => {
                self.split = 0;
                self.pinned_on_new = false;
            }
            Command::SetAccountSplit { percent, pinned } => {
                self.split = *percent;
                self.pinned_on_new = !pinned.is_empty();
            }
            Command::Hold { on } => self.hold = *on,
            Command::SnapshotDatabase { env } => self.snapshot = Some(*self.database(*env)),
            // The engine stops the site, restores its database and starts it again on the
            // release it has: a database change, so it leaves `production_touched` alone.
            Command::RestoreSnapshot { env } => {
                let snapshot = self.snapshot.expect("a restore without a snapshot");
                *self.database(*env) = snapshot;
                match env {
                    Env::Production => self.production.running = true,
                    Env::Candidate => self.candidate.as_mut().expect("no candidate to restore").running = true,
                }
            }
            Command::HealthCheck { .. } | Command::Wait { .. } => {}
            Command::RecordRehearsal { .. } => self.rehearsed = true,
        }
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

    /// An environment running code on a database of another schema, which a schema-strict
    /// site refuses (it would not start, or would fail its requests).
    pub fn refused_schema(&self) -> Option<Env> {
        if !self.schema_strict {
            return None;
        }
        [Env::Production, Env::Candidate]
            .into_iter()
            .find(|&env| self.runs(env).is_some_and(|(code, schema)| code != schema))
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

    /// What visitors get: (version, schema) of the environment serving the public address,
    /// or `None` while it shows the site-down page or some accounts see another version.
    pub fn serving(&self) -> Option<(Version, Version)> {
        if self.site_down || self.hold || self.temporary.is_some() {
            return None;
        }
        let on_new = self.split == 100;
        if !on_new && (self.split != 0 || self.pinned_on_new) {
            return None;
        }
        self.runs(if on_new { Env::Candidate } else { self.public })
    }
}
