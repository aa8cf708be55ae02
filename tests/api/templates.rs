//! Every template renders in every locale; the handler tree builds with our dependencies.

use guanxi::locale::Locale;
use guanxi::telegram;
use guanxi::templates::Templates;
use teloxide::dispatching::Dispatcher;
use teloxide::dptree;

use crate::helpers::spawn_app;

#[test]
fn every_template_renders_in_every_locale_with_all_placeholders_filled() {
    let templates = Templates::load().expect("templates load");
    let keys = templates.keys();
    assert!(keys.len() > 50, "only {} templates found", keys.len());
    for key in &keys {
        let names = templates.placeholders_of(key);
        let vars: Vec<(String, String)> = names.iter().map(|n| (n.clone(), format!("<{n}>"))).collect();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let mut rendered = Vec::new();
        for locale in Locale::ALL {
            let text = templates.render(locale, guanxi::templates::Key(leak(key)), &vars);
            assert!(!text.trim().is_empty(), "{key} is empty in {locale}");
            for name in &names {
                assert!(text.contains(&format!("<{name}>")), "{key} in {locale} drops {{{name}}}: {text}");
            }
            rendered.push(text);
        }
        // Identical text in both languages means a translation was forgotten, unless the
        // template has no words of its own (a list line made only of placeholders).
        let has_words = rendered[0]
            .replace(['<', '>'], " ")
            .split_whitespace()
            .any(|w| !names.contains(w) && w.chars().any(char::is_alphabetic));
        if has_words {
            assert_ne!(rendered[0], rendered[1], "{key} is not translated");
        }
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[test]
fn english_texts_contain_no_chinese_and_chinese_texts_are_chinese() {
    let templates = Templates::load().unwrap();
    let is_cjk = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    for key in templates.keys() {
        let en = templates.render(Locale::En, guanxi::templates::Key(leak(&key)), &[]);
        assert!(!en.chars().any(is_cjk), "{key} in en contains Chinese: {en}");
        let zh = templates.render(Locale::ZhCn, guanxi::templates::Key(leak(&key)), &[]);
        let only_placeholders = zh.chars().all(|c| !c.is_alphabetic() || c.is_ascii());
        assert!(zh.chars().any(is_cjk) || only_placeholders, "{key} in zh-CN has no Chinese: {zh}");
    }
}

#[tokio::test]
async fn the_handler_tree_builds_with_the_apps_dependencies() {
    let app = spawn_app().await;
    let bot = telegram::build_bot(&app.ctx.settings, crate::helpers::app::TOKEN);
    // Building type-checks the tree against the dependencies (dptree checks at start-up).
    let _dispatcher = Dispatcher::builder(bot, telegram::schema())
        .dependencies(dptree::deps![app.ctx.clone(), app.worker.clone()])
        .build();
}

#[tokio::test]
async fn customers_get_the_customer_menu_and_each_member_of_staff_the_staff_menu() {
    let mut app = spawn_app().await;
    crate::helpers::app::team(&app).await;
    app.restart().await; // menus are published at start, for the staff known then
    let requests = app.telegram.requests("setMyCommands");
    let names = |r: &serde_json::Value| {
        r["commands"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let default: Vec<_> = requests.iter().filter(|r| r.get("scope").is_none()).collect();
    assert_eq!(default.len(), 4, "customer menu in zh-CN and en, at both starts");
    assert_eq!(names(default[0]), ["complain", "mycomplaints", "status", "cancel"]);
    assert!(default[0]["commands"][0]["description"].as_str().unwrap().chars().any(|c| c > '\u{4e00}'));
    assert_eq!(default[1]["language_code"], "en");
    let staff: Vec<_> = requests.iter().filter(|r| r.get("scope").is_some()).collect();
    assert_eq!(staff.len(), 3, "one staff menu per member of the team after the restart");
    for r in &staff {
        assert_eq!(r["scope"]["type"], "chat");
        let menu = names(r);
        for command in [
            "help",
            "customers",
            "customer",
            "newcustomer",
            "call",
            "visit",
            "due",
            "complaints",
            "newcomplaint",
            "duty",
            "report",
            "cancel",
        ] {
            assert!(menu.contains(&command.to_owned()), "{command} missing from {menu:?}");
        }
    }
}
