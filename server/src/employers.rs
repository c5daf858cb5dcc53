//! The employer (用人单位) as mcert keeps it: one record per unified social credit code
//! (DESIGN.md §4), which certificates belong to and which holds the employee count that decides
//! the free quota ([`crate::billing`]). An application keeps the enterprise details as they were
//! submitted; the employer record is registered by an employer's first submitted application (or
//! its first certificate issued from a CSR) and takes the details of each approved application,
//! as the reviewer saw them.

use crate::applications::EnterpriseInfo;

/// An employer's details as an application states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerProfile {
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub name: String,
    /// 行政区划代码 (county level).
    pub region_code: String,
    /// 经营地址.
    pub address: String,
    /// 法定代表人.
    pub legal_rep_name: String,
    /// 法定代表人身份证号.
    pub legal_rep_id_number: String,
    /// 登记机关.
    pub registration_authority: Option<String>,
    /// 单位联系电话.
    pub contact_phone: Option<String>,
}

impl EmployerProfile {
    /// The details of an application's enterprise step.
    pub fn of(enterprise: &EnterpriseInfo) -> Self {
        Self {
            uscc: enterprise.uscc.clone(),
            name: enterprise.name.clone(),
            region_code: enterprise.region_code.clone(),
            address: enterprise.address.clone(),
            legal_rep_name: enterprise.legal_representative_name.clone(),
            legal_rep_id_number: enterprise.legal_representative_id.clone(),
            registration_authority: enterprise.registration_authority.clone(),
            contact_phone: enterprise.contact_phone.clone(),
        }
    }
}
