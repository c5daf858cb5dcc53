//! The electronic certification service agreement printed on the back of the application form
//! (seed 003). The applicant stamps it together with the form, so its wording is the seed's,
//! only cleaned of the PDF extraction's line breaks: one paragraph per line, each article
//! heading (`第一条 申请`, …) a line of its own. The title is kept apart from the text.

/// Title of the agreement.
pub const AGREEMENT_TITLE: &str = "云南省数字证书认证中心有限公司电子认证服务协议";

/// Body of the agreement: paragraphs separated by `\n`; article headings are lines that start
/// with `第` and contain `条` (see [`is_article_heading`]).
pub const AGREEMENT_TEXT: &str = include_str!("agreement.txt");

/// The paragraphs of [`AGREEMENT_TEXT`], in order, without blank lines.
pub fn paragraphs() -> impl Iterator<Item = &'static str> {
    AGREEMENT_TEXT
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// Whether a paragraph is an article heading such as `第三条 更新`.
pub fn is_article_heading(paragraph: &str) -> bool {
    paragraph.starts_with('第')
        && paragraph
            .split_whitespace()
            .next()
            .is_some_and(|word| word.ends_with('条'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The article headings of seed 003, in order.
    const SEED_HEADINGS: [&str; 5] = [
        "第一条 申请",
        "第二条 使用",
        "第三条 更新",
        "第四条 吊销",
        "第五条 其它",
    ];

    #[test]
    fn every_article_heading_of_the_seed_is_a_line_of_its_own() {
        let headings: Vec<&str> = paragraphs().filter(|p| is_article_heading(p)).collect();
        assert_eq!(headings, SEED_HEADINGS);
    }

    #[test]
    fn the_fee_sentence_is_kept() {
        assert!(AGREEMENT_TEXT.contains("用人单位数字证书使用费用为 160 元/年"));
    }

    #[test]
    fn paragraphs_are_whole() {
        // A line broken mid-sentence in the extraction would end without closing punctuation.
        for paragraph in paragraphs().filter(|p| !is_article_heading(p)) {
            assert!(
                paragraph.ends_with('。'),
                "paragraph does not end a sentence: {paragraph}"
            );
        }
        assert_eq!(paragraphs().count(), 27);
    }
}
