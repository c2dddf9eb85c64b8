//! Host ports: each session leases its own host port per published guest
//! port, so many sessions of one provider can all publish guest port 4000.

mod lease;

pub use lease::{LeasedPort, PortLeases, published};
