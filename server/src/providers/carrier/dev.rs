//! DEVELOPMENT ONLY: a [`CarrierCheck`] that asks no carrier.

use super::{CarrierCheck, CarrierError, CarrierVerdict, parse_elements};

/// Phones starting with this are [`CarrierVerdict::Inconsistent`] for [`DevCarrier`].
pub const DEV_CARRIER_INCONSISTENT_PREFIX: &str = "1990000";
/// Phones starting with this are [`CarrierVerdict::NotFound`] for [`DevCarrier`].
pub const DEV_CARRIER_NOT_FOUND_PREFIX: &str = "1990001";

/// DEVELOPMENT ONLY: says every phone belongs to the person, asking no carrier.
///
/// The name, ID number and phone are parsed as the real check parses them (malformed ones are
/// [`CarrierError::InvalidInput`]); then every triple is [`CarrierVerdict::Consistent`], except
/// that phones starting with [`DEV_CARRIER_INCONSISTENT_PREFIX`] (`1990000…`) are
/// [`CarrierVerdict::Inconsistent`] and those starting with [`DEV_CARRIER_NOT_FOUND_PREFIX`]
/// (`1990001…`) are [`CarrierVerdict::NotFound`], so that tests can exercise the refusals. Never
/// configure it in production: anybody could bind anybody's phone.
#[derive(Debug, Default)]
pub struct DevCarrier;

#[async_trait::async_trait]
impl CarrierCheck for DevCarrier {
    async fn check(
        &self,
        name: &str,
        id_number: &str,
        phone: &str,
    ) -> Result<CarrierVerdict, CarrierError> {
        let elements = parse_elements(name, id_number, phone)?;
        let phone = elements.phone.as_str();
        let verdict = if phone.starts_with(DEV_CARRIER_INCONSISTENT_PREFIX) {
            CarrierVerdict::Inconsistent
        } else if phone.starts_with(DEV_CARRIER_NOT_FOUND_PREFIX) {
            CarrierVerdict::NotFound
        } else {
            CarrierVerdict::Consistent
        };
        tracing::warn!(
            phone = %elements.phone.masked(),
            verdict = verdict.kind(),
            "development carrier check: no carrier was asked"
        );
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NAME: &str = "张三";
    const ID_NUMBER: &str = "11010519491231002X";

    #[tokio::test]
    async fn every_triple_is_consistent_but_the_reserved_prefixes() {
        let carrier = DevCarrier;
        for (phone, verdict) in [
            ("13812345678", CarrierVerdict::Consistent),
            ("19900021234", CarrierVerdict::Consistent),
            ("19900001234", CarrierVerdict::Inconsistent),
            ("+86 199-0000-1234", CarrierVerdict::Inconsistent),
            ("19900011234", CarrierVerdict::NotFound),
        ] {
            assert_eq!(
                carrier.check(NAME, ID_NUMBER, phone).await.unwrap(),
                verdict,
                "{phone}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_elements_are_refused_as_the_real_check_refuses_them() {
        let error = DevCarrier
            .check(NAME, ID_NUMBER, "1990000123")
            .await
            .unwrap_err();
        assert_eq!(error.code(), "carrier_input_invalid");
        let error = DevCarrier
            .check("张", ID_NUMBER, "13812345678")
            .await
            .unwrap_err();
        assert_eq!(error.code(), "carrier_input_invalid");
    }
}
