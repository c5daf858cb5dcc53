//! 事项授权 on the phone (seed 000 §四(三)): the primary holder sees the employer's
//! sub-certificates and what each may do at each portal, and changes a sub-certificate's item
//! set by co-signing a canonical `grant_change` message (`docs/split-key.md`) with the primary's
//! key. The change is saved by the same [`Grants::set`] as the portal API's, once the
//! signature verifies, with the message and signature in its audit entry: every delegation made
//! on the phone carries the primary holder's signature.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use mcert_signer::message::{GrantChange as GrantMessage, GrantedItem, SignedMessage};

use super::{Allowed, GrantChange, GrantError, Grants, ItemGrant, SignedChange, SubCertificate};
use crate::{
    audit::Actor,
    ca::CertificateRecord,
    clock::Clock,
    cosign::{CompletedSignature, CosignError, Cosigner, OpenedSession, Purpose},
    domain::CertificateSerial,
    failure::{Describe, Description, StorageError, code},
    people::{People, PeopleError, WxUserRecord},
    portals::{Portal, Portals},
};

/// Why a grant step on the phone was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneGrantError {
    /// The grant rules.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// The mini-program account.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Opening the co-signing session.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// The certificate is not one the signed-in person downloaded.
    #[error("certificate not held by this person")]
    NotHeld,
    /// No portal has this client id.
    #[error("unknown portal {client_id}")]
    PortalUnknown {
        /// The client id asked for.
        client_id: String,
    },
    /// The signed message is not a grant change this server can save for the signer.
    #[error("signed grant change does not match")]
    Mismatch,
}

impl From<StorageError> for PhoneGrantError {
    fn from(error: StorageError) -> Self {
        Self::Grant(error.into())
    }
}

impl Describe for PhoneGrantError {
    fn describe(&self) -> Description {
        match self {
            Self::Grant(e) => e.describe(),
            Self::People(e) => e.describe(),
            Self::Cosign(e) => e.describe(),
            Self::NotHeld => Description::new(
                code::CERTIFICATE_NOT_HELD,
                "该证书不是您本人下载的证书，请选择您自己的主证书",
            ),
            Self::PortalUnknown { client_id } => Description::new(
                code::GRANT_PORTAL_UNKNOWN,
                format!("未找到门户 {client_id}，请刷新门户列表后重试"),
            ),
            Self::Mismatch => Description::new(
                code::GRANT_CHANGE_MISMATCH,
                "签名的授权内容与本次授权不一致，请重新发起授权",
            ),
        }
    }
}

/// The sub-certificates of one portal's catalogue, as the primary holder manages them.
#[derive(Debug, Clone)]
pub struct PortalGrants {
    /// The portal and its catalogue.
    pub portal: Portal,
    /// The employer's sub-certificates in force, with what each may do there now.
    pub subs: Vec<SubCertificate>,
}

/// What the primary holder's grant screen shows.
#[derive(Debug, Clone)]
pub struct GrantOverview {
    /// The primary certificate.
    pub grantor: CertificateRecord,
    /// Every portal with a catalogue, in the order they were registered.
    pub portals: Vec<PortalGrants>,
}

/// A grant change saved from the phone.
#[derive(Debug, Clone)]
pub struct SavedGrant {
    /// The sub-certificate.
    pub grantee: CertificateSerial,
    /// The portal's client id.
    pub client_id: String,
    /// What the sub-certificate may do there now.
    pub allowed: Allowed,
}

/// The primary holder's grants in the mini-program.
#[derive(Debug)]
pub struct PhoneGrants {
    grants: Arc<Grants>,
    portals: Arc<Portals>,
    people: Arc<People>,
    cosigner: Arc<Cosigner>,
    clock: Arc<dyn Clock>,
}

impl PhoneGrants {
    /// Over the grant service and what the phone's steps need.
    pub fn new(
        grants: Arc<Grants>,
        portals: Arc<Portals>,
        people: Arc<People>,
        cosigner: Arc<Cosigner>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            grants,
            portals,
            people,
            cosigner,
            clock,
        }
    }

    /// The primary certificate `serial` of the signed-in person, in force.
    async fn held_primary(
        &self,
        user: &WxUserRecord,
        serial: &str,
    ) -> Result<CertificateRecord, PhoneGrantError> {
        let held = self
            .people
            .held(user, serial)
            .await?
            .ok_or(PhoneGrantError::NotHeld)?;
        Ok(self.grants.grantor(&held.serial).await?)
    }

    async fn portal(&self, client_id: &str) -> Result<Portal, PhoneGrantError> {
        self.portals
            .get(client_id)
            .await?
            .ok_or_else(|| PhoneGrantError::PortalUnknown {
                client_id: client_id.to_string(),
            })
    }

    /// The grant screen of the person's primary certificate `serial`: every portal with a
    /// catalogue and the employer's sub-certificates with what each may do there.
    pub async fn overview(
        &self,
        user: &WxUserRecord,
        serial: &str,
    ) -> Result<GrantOverview, PhoneGrantError> {
        let grantor = self.held_primary(user, serial).await?;
        let with_items: Vec<Portal> = self
            .portals
            .all()
            .await?
            .into_iter()
            .filter(|portal| !portal.items.is_empty())
            .collect();
        let subs = self
            .grants
            .sub_certificates_at(&grantor, &with_items)
            .await?;
        let portals = with_items
            .into_iter()
            .zip(subs)
            .map(|(portal, subs)| PortalGrants { portal, subs })
            .collect();
        Ok(GrantOverview { grantor, portals })
    }

    /// Checks `change` of `grantee`'s set at the portal `client_id` as a save would, then opens
    /// a co-signing session of the person's primary certificate `serial` over the canonical
    /// `grant_change` message. The phone completes it with the co-signing endpoints;
    /// [`PhoneGrants::complete`] then saves it.
    pub async fn start(
        &self,
        user: &WxUserRecord,
        serial: &str,
        grantee: &str,
        client_id: &str,
        change: GrantChange,
    ) -> Result<OpenedSession, PhoneGrantError> {
        let grantor = self.held_primary(user, serial).await?;
        let portal = self.portal(client_id).await?;
        let grantee = CertificateSerial::parse(grantee.trim())
            .map_err(|_| PhoneGrantError::Grant(GrantError::GranteeUnknown))?;
        let grantee = self.grants.grantee(&grantee).await?;
        let (_, items) = self
            .grants
            .check(&grantor, &grantee, &portal, &change)
            .await?;
        let name_of = |code: &str| {
            portal
                .items
                .iter()
                .find(|item| item.code == code)
                .map(|item| item.name.clone())
                .unwrap_or_default()
        };
        let message = SignedMessage::GrantChange(GrantMessage {
            serial: grantor.serial.to_string(),
            uscc: grantor.uscc.clone(),
            employer_name: grantor.unit_name.clone(),
            grantee_serial: grantee.serial.to_string(),
            client_id: portal.client_id.clone(),
            portal_name: portal.name.clone(),
            grant_id: change.grant_id,
            items: items
                .iter()
                .map(|grant| GrantedItem {
                    code: grant.code.clone(),
                    name: name_of(&grant.code),
                    starts_at: grant.starts_at.map(|t| t.timestamp()),
                    ends_at: grant.ends_at.map(|t| t.timestamp()),
                })
                .collect(),
            issued_at: self.clock.now().timestamp(),
        })
        .encode()
        .map_err(|source| CosignError::Malformed {
            what: "grant change",
            source,
        })?;
        Ok(self
            .cosigner
            .open(&grantor.serial, Purpose::GrantChange, message)
            .await?)
    }

    /// A verified signature over a `grant_change` message: saves the change it names, signed by
    /// the primary that signed it, with the message and signature in the audit entry.
    pub async fn complete(
        &self,
        completed: CompletedSignature,
    ) -> Result<SavedGrant, PhoneGrantError> {
        let Ok(SignedMessage::GrantChange(message)) = SignedMessage::decode(&completed.message)
        else {
            return Err(PhoneGrantError::Mismatch);
        };
        if CertificateSerial::parse(&message.serial).ok().as_ref() != Some(&completed.serial) {
            return Err(PhoneGrantError::Mismatch);
        }
        let grantor = self.grants.grantor(&completed.serial).await?;
        if grantor.uscc != message.uscc {
            return Err(PhoneGrantError::Mismatch);
        }
        let portal = self.portal(&message.client_id).await?;
        let grantee = CertificateSerial::parse(&message.grantee_serial)
            .map_err(|_| PhoneGrantError::Mismatch)?;
        let time = |seconds: Option<i64>| -> Result<Option<DateTime<Utc>>, PhoneGrantError> {
            seconds
                .map(|s| DateTime::from_timestamp(s, 0).ok_or(PhoneGrantError::Mismatch))
                .transpose()
        };
        let items = message
            .items
            .into_iter()
            .map(|item| {
                Ok(ItemGrant {
                    code: item.code,
                    starts_at: time(item.starts_at)?,
                    ends_at: time(item.ends_at)?,
                })
            })
            .collect::<Result<Vec<_>, PhoneGrantError>>()?;
        let change = GrantChange {
            grant_id: message.grant_id,
            items,
            signed: Some(SignedChange {
                message: STANDARD.encode(&completed.message),
                signature: STANDARD.encode(&completed.signature),
            }),
        };
        let actor = Actor::Certificate(grantor.serial.to_string());
        let allowed = self
            .grants
            .set_for(&grantor, &grantee, &portal, change, &actor)
            .await?;
        Ok(SavedGrant {
            grantee,
            client_id: portal.client_id,
            allowed,
        })
    }
}
