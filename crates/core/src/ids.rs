//! Typed identifiers. Ids are UUIDs (v7 when minted by the application); the core only
//! wraps and compares them, it never mints them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(value).map($name)
            }
        }
    )*};
}

id_type!(
    WorkspaceId,
    UserId,
    ProgramId,
    PlanVersionId,
    PartnerId,
    EnrollmentId,
    LinkId,
    CustomerId,
    EventId,
    CommissionId,
    TransactionId,
    PayoutBatchId,
    ApiKeyId,
    JobId,
    DealId,
    ApplicationId,
    InvitationId,
    TermsVersionId,
    EmailId,
);
