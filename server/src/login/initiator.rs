//! Where and when a login was started, as the phone shows it before the person confirms
//! (请求来自 云南昆明 · 1.2.3.* · Chrome · 10 秒前). A phishing page can relay a real QR code and
//! copy everything the portal shows, but not the address and browser that asked mcert for the
//! session: a login started in another province, or seconds before the person even opened the
//! portal, is visible on the phone. The same facts are signed into the login challenge.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::geo::{Region, RegionDb};

/// The browser (or, for an embedded session, what the portal reported of it) that started a
/// login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initiator {
    /// The full address, for the audit log only.
    pub address: Option<IpAddr>,
    /// The address as the phone shows it: `1.2.3.*`, `2001:db8:1:2:*`, or `未知`.
    pub masked_address: String,
    /// Coarse location from the offline IP database (`云南昆明`), when one is configured and
    /// knows the address.
    pub location: Option<String>,
    /// Where the location lies, to compare with the phone's.
    pub region: Option<Region>,
    /// Browser family (`Chrome`, `微信`), when the user agent tells.
    pub browser: Option<String>,
    /// When the session was created.
    pub at: DateTime<Utc>,
}

impl Initiator {
    /// The initiator at `address` with `user_agent`, located in `regions` when there is one.
    pub fn new(
        address: Option<IpAddr>,
        user_agent: Option<&str>,
        regions: Option<&RegionDb>,
        at: DateTime<Utc>,
    ) -> Self {
        let region = address.and_then(|a| regions.and_then(|db| db.lookup(a)));
        Self {
            address,
            masked_address: mask(address),
            location: region.as_ref().and_then(Region::label),
            region,
            browser: user_agent.and_then(browser_family),
            at,
        }
    }

    /// The words the phone shows before the age: `云南昆明 · 1.2.3.* · Chrome`.
    pub fn summary(&self) -> String {
        [
            self.location.as_deref(),
            Some(self.masked_address.as_str()),
            self.browser.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
    }

    /// The warning to show when the phone is known to be in another province (or country)
    /// than the browser that started the login.
    pub fn region_warning(&self, phone: Option<&Region>) -> Option<String> {
        let (started, phone) = (self.region.as_ref()?, phone?);
        if !started.differs_from(phone) {
            return None;
        }
        Some(format!(
            "发起登录的地点（{}）与您手机当前所在地（{}）不同。如果不是您本人刚刚在电脑上发起的登录，\
             请点击“拒绝”，不要确认。",
            started.label().unwrap_or_default(),
            phone.label().unwrap_or_default(),
        ))
    }
}

/// An address without its host part: the last IPv4 octet, or all but the first four IPv6
/// groups (the subscriber's /64), replaced by `*`.
pub fn mask(address: Option<IpAddr>) -> String {
    match address.map(crate::geo::canonical_ip) {
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.*")
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}:*", s[0], s[1], s[2], s[3])
        }
        None => "未知".to_string(),
    }
}

/// The browser family of a user agent. The browsers and in-app views common in China come
/// first (woothee's data does not know them); woothee names the rest, and a script or crawler
/// is 非浏览器程序.
pub fn browser_family(user_agent: &str) -> Option<String> {
    const CHINESE: [(&str, &str); 9] = [
        ("MicroMessenger", "微信"),
        ("DingTalk", "钉钉"),
        ("QQBrowser", "QQ浏览器"),
        ("UCBrowser", "UC浏览器"),
        ("Quark", "夸克"),
        ("MetaSr", "搜狗浏览器"),
        ("360SE", "360浏览器"),
        ("360EE", "360浏览器"),
        ("baiduboxapp", "百度"),
    ];
    if let Some((_, name)) = CHINESE
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
    {
        return Some((*name).to_string());
    }
    let parsed = woothee::parser::Parser::new().parse(user_agent)?;
    // A login page fetched by a script or a crawler is worth saying so: no person opened it.
    if matches!(parsed.category, "crawler" | "misc") {
        return Some("非浏览器程序".to_string());
    }
    (parsed.name != woothee::woothee::VALUE_UNKNOWN && !parsed.name.is_empty())
        .then(|| parsed.name.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::geo::tests::xdb;

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x18003237) NetType/WIFI Language/zh_CN";
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

    #[test]
    fn browsers_are_named() {
        assert_eq!(browser_family(CHROME).as_deref(), Some("Chrome"));
        assert_eq!(browser_family(EDGE).as_deref(), Some("Edge"));
        assert_eq!(browser_family(FIREFOX).as_deref(), Some("Firefox"));
        assert_eq!(browser_family(WECHAT).as_deref(), Some("微信"));
        assert_eq!(browser_family("curl/8.0").as_deref(), Some("非浏览器程序"));
        assert_eq!(browser_family(""), None);
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            mask(Some("222.172.200.68".parse().unwrap())),
            "222.172.200.*"
        );
        assert_eq!(mask(Some("::ffff:1.2.3.4".parse().unwrap())), "1.2.3.*");
        assert_eq!(
            mask(Some("2001:db8:1:2:3:4:5:6".parse().unwrap())),
            "2001:db8:1:2:*"
        );
        assert_eq!(mask(None), "未知");
    }

    #[test]
    fn the_summary_and_the_region_warning() {
        let v4 = |t: &str| t.parse::<std::net::Ipv4Addr>().unwrap();
        let db = RegionDb::from_bytes(xdb(&[
            (
                v4("222.172.200.0"),
                v4("222.172.200.255"),
                "中国|0|云南省|昆明市|电信",
            ),
            (
                v4("222.173.0.0"),
                v4("222.173.0.255"),
                "中国|0|山东省|济南市|电信",
            ),
        ]))
        .unwrap();
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let started = Initiator::new(
            Some("222.172.200.68".parse().unwrap()),
            Some(CHROME),
            Some(&db),
            at,
        );
        assert_eq!(started.summary(), "云南昆明 · 222.172.200.* · Chrome");
        let here = db.lookup("222.172.200.9".parse().unwrap());
        assert_eq!(started.region_warning(here.as_ref()), None);
        let elsewhere = db.lookup("222.173.0.9".parse().unwrap());
        let warning = started.region_warning(elsewhere.as_ref()).unwrap();
        assert!(
            warning.contains("云南昆明") && warning.contains("山东济南"),
            "{warning}"
        );
        assert_eq!(started.region_warning(None), None);

        let unknown = Initiator::new(None, None, None, at);
        assert_eq!(unknown.summary(), "未知");
        let no_db = Initiator::new(
            Some("222.172.200.68".parse().unwrap()),
            Some(FIREFOX),
            None,
            at,
        );
        assert_eq!(no_db.summary(), "222.172.200.* · Firefox");
    }
}
