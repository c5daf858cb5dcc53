//! mcert-signer placeholder; filled in by the signer work.
