//! [`Step`]: what one step's server offers, built up one call per idea.

use crate::signaling::{Limits, Policy};

/// What one step's server offers. Each example builds one and passes it to
/// [`crate::run`].
#[derive(Clone, Debug)]
pub struct Step {
    name: &'static str,
    signaling: Option<Policy>,
    /// The limits its sockets live under: the defaults, unless a test
    /// shortens them.
    limits: Limits,
    ice_servers: bool,
    /// The most people this step's page can take in one room, when the
    /// page (not the operator) sets the limit.
    room_size_cap: Option<usize>,
    /// Step 19: a member whose socket drops keeps its place for a while.
    resumes: bool,
    /// Step 20: media goes through the server's SFU.
    sfu: bool,
}

impl Step {
    /// A step named like its page folder: `Step::new("app02")` serves `static/app02/`.
    pub fn new(name: &'static str) -> Step {
        Step {
            name,
            signaling: None,
            limits: Limits::default(),
            ice_servers: false,
            room_size_cap: None,
            resumes: false,
            sfu: false,
        }
    }

    /// Adds the signaling socket, `GET /ws`, relaying with `policy` (step 07 on).
    pub fn with_signaling(mut self, policy: Policy) -> Step {
        self.signaling = Some(policy);
        self
    }

    /// Adds `GET /ice-servers`, the ICE server list for the pages (step 09 on).
    pub fn with_ice_servers(mut self) -> Step {
        self.ice_servers = true;
        self
    }

    /// Holds the place of a member whose socket drops, so that its next
    /// socket can take it back with a resume token (step 19 on).
    pub fn with_resume(mut self) -> Step {
        self.resumes = true;
        self
    }

    /// Runs the SFU: each page sends its media to the server once, and the
    /// server forwards it to the others of its room (step 20). Rooms hold
    /// [`crate::sfu::ROOM_SIZE`] people unless `ROOM_SIZE` says otherwise:
    /// a member's upload no longer grows with the room.
    pub fn with_sfu(mut self) -> Step {
        self.sfu = true;
        self.limits = self.limits.with_room_size(crate::sfu::ROOM_SIZE);
        self
    }

    /// Whether media goes through the server's SFU (step 20).
    pub fn has_sfu(&self) -> bool {
        self.sfu
    }

    /// Holds rooms to `people` at most, whatever `ROOM_SIZE` says: for a
    /// step whose page can take no more (step 15 calls one other person).
    pub fn with_room_size_cap(mut self, people: usize) -> Step {
        self.room_size_cap = Some(people);
        self
    }

    /// Runs the sockets under `limits` in place of the defaults: tests
    /// shorten heartbeats and queues this way, and the benches raise the
    /// rate limit. (An operator chooses only the room size, `ROOM_SIZE`.)
    pub fn with_limits(mut self, limits: Limits) -> Step {
        self.limits = limits;
        self
    }

    /// The page folder's name (`app02`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The policy of its `/ws`, if it has one.
    pub fn signaling(&self) -> Option<Policy> {
        self.signaling
    }

    /// Whether members whose socket drops keep their place (step 19 on).
    pub fn resumes(&self) -> bool {
        self.resumes
    }

    /// Whether it serves `GET /ice-servers`.
    pub fn has_ice_servers(&self) -> bool {
        self.ice_servers
    }

    /// The limits this step's sockets run under: its own, with the room size
    /// the operator chose (`ROOM_SIZE`), and rooms no larger than the step's
    /// page can take.
    pub fn limits(&self, configured_room_size: Option<usize>) -> Limits {
        let limits = match configured_room_size {
            Some(room_size) => self.limits.with_room_size(room_size),
            None => self.limits,
        };
        match self.room_size_cap {
            Some(cap) if cap < limits.room_size => limits.with_room_size(cap),
            _ => limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_takes_two_holds_its_rooms_to_two() {
        let step = Step::new("app15")
            .with_signaling(Policy::Direct)
            .with_room_size_cap(2);
        assert_eq!(step.limits(None).room_size, 2);
        assert_eq!(step.limits(Some(8)).room_size, 2);
        let open = Step::new("app16").with_signaling(Policy::Direct);
        assert_eq!(open.limits(Some(8)).room_size, 8);
        // Step 20 raises the default; ROOM_SIZE still decides.
        let sfu = Step::new("app20").with_sfu();
        assert_eq!(sfu.limits(None).room_size, crate::sfu::ROOM_SIZE);
        assert_eq!(sfu.limits(Some(16)).room_size, 16);
        assert_eq!(open.limits(None), Limits::default());
    }
}
