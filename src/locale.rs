//! The languages Guanxi speaks.

use std::fmt;
use std::str::FromStr;

/// A supported locale. zh-CN is the company's working language; English is complete too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    ZhCn,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Self::ZhCn, Self::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// The locale for a Telegram `language_code`: English when it starts with `en`,
    /// otherwise the configured default.
    pub fn from_telegram(language_code: Option<&str>, default: Locale) -> Self {
        match language_code {
            Some(code) if code.to_ascii_lowercase().starts_with("en") => Self::En,
            _ => default,
        }
    }
}

impl FromStr for Locale {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "zh_cn" => Ok(Self::ZhCn),
            "en" | "en-us" | "en-gb" | "en_us" => Ok(Self::En),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_only_for_english_clients() {
        assert_eq!(Locale::from_telegram(Some("en"), Locale::ZhCn), Locale::En);
        assert_eq!(Locale::from_telegram(Some("en-GB"), Locale::ZhCn), Locale::En);
        assert_eq!(Locale::from_telegram(Some("zh-hans"), Locale::ZhCn), Locale::ZhCn);
        assert_eq!(Locale::from_telegram(Some("ru"), Locale::ZhCn), Locale::ZhCn);
        assert_eq!(Locale::from_telegram(None, Locale::En), Locale::En);
    }
}
