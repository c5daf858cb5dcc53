//! The three wizard steps: raw input as the page sends it, and the validated documents stored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApplicationError;
use crate::domain::{
    DomainError, FallbackGlyphs, PersonName, PhoneNumber, PrintedField, ResidentId, UnitName, Uscc,
    check_printable,
};

/// Province-level codes of GB/T 2260 (the first two digits of an administrative region code).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

fn field(field: &'static str, message: &'static str) -> ApplicationError {
    ApplicationError::Field { field, message }
}

fn text(
    value: &str,
    name: &'static str,
    max_chars: usize,
    message: &'static str,
) -> Result<String, ApplicationError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max_chars || value.chars().any(char::is_control)
    {
        return Err(field(name, message));
    }
    Ok(value.to_string())
}

fn optional_text(
    value: Option<&str>,
    name: &'static str,
    max_chars: usize,
    message: &'static str,
) -> Result<Option<String>, ApplicationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(v, name, max_chars, message).map(Some),
    }
}

/// A domain value's error as the input field `name`'s.
fn at(name: &'static str) -> impl FnOnce(DomainError) -> ApplicationError {
    move |source| ApplicationError::DomainIn {
        field: name,
        source,
    }
}

fn upload_id(value: &str, name: &'static str) -> Result<String, ApplicationError> {
    let value = value.trim();
    if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(field(name, "请先上传对应的图片文件"))
    }
}

/// Step 1 as the page sends it (OCR may have pre-filled it; every field is editable).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseInput {
    /// Upload id of the licence (`licence`).
    pub licence_upload_id: String,
    /// 单位名称.
    pub name: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 行政区域: six-digit administrative division code (GB/T 2260) of the county.
    pub region_code: String,
    /// 单位住所（地址）.
    pub address: String,
    /// 法定代表人姓名.
    pub legal_representative_name: String,
    /// 法定代表人身份证号码.
    pub legal_representative_id: String,
    /// 登记机关 (optional).
    pub registration_authority: Option<String>,
    /// 单位联系电话 (optional).
    pub contact_phone: Option<String>,
}

/// Step 1 validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseInfo {
    /// Licence upload.
    pub licence_upload_id: String,
    /// 单位名称.
    pub name: String,
    /// 统一社会信用代码 (GB 32100 checked).
    pub uscc: String,
    /// Region code.
    pub region_code: String,
    /// Address.
    pub address: String,
    /// Legal representative.
    pub legal_representative_name: String,
    /// Their ID number (GB 11643 checked).
    pub legal_representative_id: String,
    /// 登记机关.
    pub registration_authority: Option<String>,
    /// 单位联系电话.
    pub contact_phone: Option<String>,
}

impl EnterpriseInfo {
    /// Validates step 1; every value printed on the application form must be printable with
    /// the form's fonts (`fallback`).
    pub fn parse(
        input: &EnterpriseInput,
        fallback: &dyn FallbackGlyphs,
    ) -> Result<Self, ApplicationError> {
        let region = input.region_code.trim();
        if region.len() != 6
            || !region.bytes().all(|b| b.is_ascii_digit())
            || !PROVINCES.contains(&&region[..2])
            || region.ends_with("0000")
        {
            return Err(field(
                "region_code",
                "行政区域须选到区（县）一级（6 位行政区划代码），请重新选择",
            ));
        }
        let contact_phone = optional_text(
            input.contact_phone.as_deref(),
            "contact_phone",
            20,
            "单位联系电话格式不正确",
        )?;
        if contact_phone
            .as_ref()
            .is_some_and(|p| p.len() < 7 || !p.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        {
            return Err(field(
                "contact_phone",
                "单位联系电话应为数字（可带区号和“-”）",
            ));
        }
        let info = Self {
            licence_upload_id: upload_id(&input.licence_upload_id, "licence_upload_id")?,
            name: UnitName::parse(&input.name)
                .map_err(at("name"))?
                .as_str()
                .to_string(),
            uscc: Uscc::parse(&input.uscc)
                .map_err(at("uscc"))?
                .as_str()
                .to_string(),
            region_code: region.to_string(),
            address: text(
                &input.address,
                "address",
                200,
                "请填写单位住所（200 字以内）",
            )?,
            legal_representative_name: PersonName::parse(&input.legal_representative_name)
                .map_err(at("legal_representative_name"))?
                .as_str()
                .to_string(),
            legal_representative_id: ResidentId::parse(&input.legal_representative_id)
                .map_err(at("legal_representative_id"))?
                .as_str()
                .to_string(),
            registration_authority: optional_text(
                input.registration_authority.as_deref(),
                "registration_authority",
                100,
                "登记机关名称过长（100 字以内）",
            )?,
            contact_phone,
        };
        for (field, value) in [
            (PrintedField::UnitName, info.name.as_str()),
            (PrintedField::Address, &info.address),
            (
                PrintedField::LegalRepresentativeName,
                &info.legal_representative_name,
            ),
            (
                PrintedField::RegistrationAuthority,
                info.registration_authority.as_deref().unwrap_or(""),
            ),
        ] {
            check_printable(field, value, fallback)?;
        }
        Ok(info)
    }
}

/// Step 2 as the page sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// Upload id of the ID card's portrait side (`id_front`).
    pub id_front_upload_id: String,
    /// Upload id of the emblem side (`id_back`).
    pub id_back_upload_id: String,
    /// 经办人姓名.
    pub name: String,
    /// 经办人身份证号.
    pub id_number: String,
    /// 经办人邮箱.
    pub email: String,
}

/// Step 2 validated; the phone is the account's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentInfo {
    /// Portrait side.
    pub id_front_upload_id: String,
    /// Emblem side.
    pub id_back_upload_id: String,
    /// Name.
    pub name: String,
    /// ID number (GB 11643 checked).
    pub id_number: String,
    /// Email.
    pub email: String,
    /// 经办人手机号码: the phone the applicant signed in with.
    pub phone: String,
}

impl AgentInfo {
    /// Validates step 2; the name must be printable with the form's fonts (`fallback`).
    pub fn parse(
        input: &AgentInput,
        phone: &PhoneNumber,
        fallback: &dyn FallbackGlyphs,
    ) -> Result<Self, ApplicationError> {
        let email = input.email.trim();
        let valid_email = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            });
        if !valid_email {
            return Err(field(
                "email",
                "经办人邮箱格式不正确，例如 name@example.com",
            ));
        }
        let name = PersonName::parse(&input.name).map_err(at("name"))?;
        check_printable(PrintedField::AgentName, name.as_str(), fallback)?;
        Ok(Self {
            id_front_upload_id: upload_id(&input.id_front_upload_id, "id_front_upload_id")?,
            id_back_upload_id: upload_id(&input.id_back_upload_id, "id_back_upload_id")?,
            name: name.as_str().to_string(),
            id_number: ResidentId::parse(&input.id_number)
                .map_err(at("id_number"))?
                .as_str()
                .to_string(),
            email: email.to_string(),
            phone: phone.as_str().to_string(),
        })
    }
}

/// How the electronic seal is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SealKind {
    /// 采集传统盖章: captured from the stamped form.
    Traditional,
    /// CA生成印章: generated from the employer's name.
    Generated,
}

/// Step 3 as the page sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaInput {
    /// Upload id of the stamped application form (`application_form`).
    pub form_upload_id: String,
    /// 是否申请CA电子印章.
    pub seal_wanted: bool,
    /// 申请印章类型, required when a seal is wanted.
    pub seal_kind: Option<SealKind>,
    /// 公章备案编号 (optional).
    pub stamp_filing_number: Option<String>,
}

/// Step 3 validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaInfo {
    /// The stamped form.
    pub form_upload_id: String,
    /// Seal wanted.
    pub seal_wanted: bool,
    /// Seal kind when wanted.
    pub seal_kind: Option<SealKind>,
    /// Filing number of the physical stamp.
    pub stamp_filing_number: Option<String>,
}

impl CaInfo {
    /// Validates step 3.
    pub fn parse(input: &CaInput) -> Result<Self, ApplicationError> {
        let seal_kind = match (input.seal_wanted, input.seal_kind) {
            (true, None) => {
                return Err(field(
                    "seal_kind",
                    "申请电子印章须选择印章类型：采集传统盖章或 CA 生成印章",
                ));
            }
            (true, kind) => kind,
            (false, _) => None,
        };
        let stamp_filing_number = optional_text(
            input.stamp_filing_number.as_deref(),
            "stamp_filing_number",
            40,
            "公章备案编号过长（40 字以内）",
        )?;
        Ok(Self {
            form_upload_id: upload_id(&input.form_upload_id, "form_upload_id")?,
            seal_wanted: input.seal_wanted,
            seal_kind,
            stamp_filing_number,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn enterprise() -> EnterpriseInput {
        EnterpriseInput {
            licence_upload_id: "0123456789abcdef0123456789ABCDEF".into(),
            name: "昆明测试科技有限公司".into(),
            uscc: "91440300708461136T".into(),
            region_code: "530112".into(),
            address: "云南省昆明市西山区某某路 1 号".into(),
            legal_representative_name: "李四".into(),
            legal_representative_id: "11010519491231002X".into(),
            registration_authority: Some(" ".into()),
            contact_phone: Some("0871-12345678".into()),
        }
    }

    #[test]
    fn enterprise_fields_are_checked() {
        let info = EnterpriseInfo::parse(&enterprise(), &()).unwrap();
        assert_eq!(info.licence_upload_id, "0123456789abcdef0123456789abcdef");
        assert_eq!(info.registration_authority, None);
        for (change, what) in [
            (
                EnterpriseInput {
                    uscc: "91440300708461136X".into(),
                    ..enterprise()
                },
                "uscc",
            ),
            (
                EnterpriseInput {
                    region_code: "530000".into(),
                    ..enterprise()
                },
                "province only",
            ),
            (
                EnterpriseInput {
                    region_code: "990112".into(),
                    ..enterprise()
                },
                "no province",
            ),
            (
                EnterpriseInput {
                    legal_representative_id: "110105194912310021".into(),
                    ..enterprise()
                },
                "id",
            ),
            (
                EnterpriseInput {
                    address: " ".into(),
                    ..enterprise()
                },
                "address",
            ),
            (
                EnterpriseInput {
                    contact_phone: Some("call me".into()),
                    ..enterprise()
                },
                "phone",
            ),
            (
                EnterpriseInput {
                    licence_upload_id: "x".into(),
                    ..enterprise()
                },
                "upload",
            ),
        ] {
            assert!(EnterpriseInfo::parse(&change, &()).is_err(), "{what}");
        }
    }

    #[test]
    fn agent_and_ca_fields_are_checked() {
        let phone = PhoneNumber::parse("13800138000").unwrap();
        let agent = AgentInput {
            id_front_upload_id: "0123456789abcdef0123456789abcdef".into(),
            id_back_upload_id: "fedcba9876543210fedcba9876543210".into(),
            name: "张三".into(),
            id_number: "11010519491231002X".into(),
            email: "zhang@example.com".into(),
        };
        assert_eq!(
            AgentInfo::parse(&agent, &phone, &()).unwrap().phone,
            "13800138000"
        );
        for email in ["zhang", "a@b", "a b@c.com", "@c.com", "a@.com"] {
            let bad = AgentInput {
                email: email.into(),
                ..agent.clone()
            };
            assert!(AgentInfo::parse(&bad, &phone, &()).is_err(), "{email}");
        }
        let ca = CaInput {
            form_upload_id: "0123456789abcdef0123456789abcdef".into(),
            seal_wanted: true,
            seal_kind: None,
            stamp_filing_number: None,
        };
        assert!(CaInfo::parse(&ca).is_err(), "seal kind required");
        let no_seal = CaInput {
            seal_wanted: false,
            seal_kind: Some(SealKind::Generated),
            ..ca
        };
        assert_eq!(CaInfo::parse(&no_seal).unwrap().seal_kind, None);
    }
}
