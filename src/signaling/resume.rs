//! Resume tokens (step 19): which member each one lets back in.
//!
//! A page whose socket drops without saying goodbye (a lost network, a
//! sleeping laptop, a proxy restart) is not taken out of its room at once:
//! the server holds its place for a grace period (`Limits::resume_grace`), and the page's next
//! socket may take it back with the token it was given. The token is the
//! only proof that the new socket is the same page, so it is:
//!
//! - unguessable: 128 random bits, like a peer id;
//! - bound to one member: it maps to that member's id and nothing else;
//! - single use: redeeming it removes it (the page gets a new one);
//! - short-lived: it dies with its member's place, when the member leaves or
//!   its grace ends; a restarted server knows no token at all.
//!
//! A token that is unknown, used or expired is refused the same way
//! (`bad-token`): the server keeps no list of spent tokens, so it cannot tell
//! those apart, and an attacker learns nothing from the answer.

use std::collections::HashMap;

use super::peers::{NoId, PeerId};
use crate::random::random_hex;

/// A resume token, as sent in `welcome` and `resumed`.
pub type Token = String;

/// The tokens in force.
#[derive(Default)]
pub struct ResumeBook {
    /// Each token, and the member it lets back in.
    owner: HashMap<Token, PeerId>,
    /// Each member's one token in force.
    token_of: HashMap<PeerId, Token>,
}

impl ResumeBook {
    /// A new token for `id`, replacing any it had.
    pub fn issue(&mut self, id: &PeerId) -> Result<Token, NoId> {
        let token = random_hex(16).map_err(|_| NoId)?;
        self.forget(id);
        self.owner.insert(token.clone(), id.clone());
        self.token_of.insert(id.clone(), token.clone());
        Ok(token)
    }

    /// The member `token` lets back in, if it is in force; it is spent
    /// either way.
    pub fn redeem(&mut self, token: &str) -> Option<PeerId> {
        let id = self.owner.remove(token)?;
        self.token_of.remove(&id);
        Some(id)
    }

    /// `id` is gone for good: its token no longer works.
    pub fn forget(&mut self, id: &PeerId) {
        if let Some(token) = self.token_of.remove(id) {
            self.owner.remove(&token);
        }
    }

    /// How many tokens are in force (tests check that none is left behind).
    pub fn len(&self) -> usize {
        self.owner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_token_is_bound_to_one_member_and_works_once() {
        let mut book = ResumeBook::default();
        let alice: PeerId = Arc::from("alice");
        let bob: PeerId = Arc::from("bob");
        let for_alice = book.issue(&alice).unwrap();
        let for_bob = book.issue(&bob).unwrap();
        assert_eq!(for_alice.len(), 32);
        assert_ne!(for_alice, for_bob);
        assert_eq!(book.redeem(&for_alice), Some(alice.clone()));
        assert_eq!(book.redeem(&for_alice), None, "a replayed token");
        assert_eq!(book.redeem("0123456789abcdef0123456789abcdef"), None);
        assert_eq!(book.redeem(&for_bob), Some(bob));
        assert_eq!(book.len(), 0);
    }

    #[test]
    fn a_new_token_replaces_the_old_and_leaving_ends_it() {
        let mut book = ResumeBook::default();
        let alice: PeerId = Arc::from("alice");
        let first = book.issue(&alice).unwrap();
        let second = book.issue(&alice).unwrap();
        assert_eq!(book.redeem(&first), None);
        assert_eq!(book.len(), 1);
        book.forget(&alice);
        assert_eq!(book.redeem(&second), None);
        assert_eq!(book.len(), 0);
    }
}
