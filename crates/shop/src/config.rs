//! The shop's typed configuration: which services exist, where they listen, where they find
//! each other, and which stores they use.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Every service of the shop.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceName {
    LoadGenerator,
    Frontend,
    Cart,
    ProductCatalog,
    Checkout,
    Payment,
    Currency,
    Shipping,
    Ad,
    Recommendation,
    Inventory,
    Notification,
}

impl ServiceName {
    pub const ALL: [ServiceName; 12] = [
        ServiceName::LoadGenerator,
        ServiceName::Frontend,
        ServiceName::Cart,
        ServiceName::ProductCatalog,
        ServiceName::Checkout,
        ServiceName::Payment,
        ServiceName::Currency,
        ServiceName::Shipping,
        ServiceName::Ad,
        ServiceName::Recommendation,
        ServiceName::Inventory,
        ServiceName::Notification,
    ];

    /// The `service.name` it reports and the name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::LoadGenerator => "load-generator",
            ServiceName::Frontend => "frontend",
            ServiceName::Cart => "cart",
            ServiceName::ProductCatalog => "product-catalog",
            ServiceName::Checkout => "checkout",
            ServiceName::Payment => "payment",
            ServiceName::Currency => "currency",
            ServiceName::Shipping => "shipping",
            ServiceName::Ad => "ad",
            ServiceName::Recommendation => "recommendation",
            ServiceName::Inventory => "inventory",
            ServiceName::Notification => "notification",
        }
    }

    /// The port the original system gave it.
    pub fn default_port(self) -> u16 {
        match self {
            ServiceName::LoadGenerator => 8010,
            ServiceName::Cart => 8013,
            ServiceName::ProductCatalog => 8014,
            ServiceName::Checkout => 8016,
            ServiceName::Payment => 8017,
            ServiceName::Frontend => 8018,
            ServiceName::Currency => 8011,
            ServiceName::Shipping => 8012,
            ServiceName::Ad => 8015,
            ServiceName::Recommendation => 8019,
            ServiceName::Inventory => 8020,
            ServiceName::Notification => 8021,
        }
    }

    /// The environment variable that holds its base URL for the services that call it.
    pub fn url_var(self) -> &'static str {
        match self {
            ServiceName::LoadGenerator => "LOAD_GENERATOR_URL",
            ServiceName::Frontend => "FRONTEND_URL",
            ServiceName::Cart => "CART_SERVICE_URL",
            ServiceName::ProductCatalog => "PRODUCT_CATALOG_SERVICE_URL",
            ServiceName::Checkout => "CHECKOUT_SERVICE_URL",
            ServiceName::Payment => "PAYMENT_SERVICE_URL",
            ServiceName::Currency => "CURRENCY_SERVICE_URL",
            ServiceName::Shipping => "SHIPPING_SERVICE_URL",
            ServiceName::Ad => "AD_SERVICE_URL",
            ServiceName::Recommendation => "RECOMMENDATION_SERVICE_URL",
            ServiceName::Inventory => "INVENTORY_SERVICE_URL",
            ServiceName::Notification => "NOTIFICATION_SERVICE_URL",
        }
    }

    /// The services it calls directly.
    pub fn calls(self) -> &'static [ServiceName] {
        use ServiceName::*;
        match self {
            LoadGenerator => &[Frontend],
            Frontend => &[
                Cart,
                ProductCatalog,
                Currency,
                Shipping,
                Ad,
                Payment,
                Checkout,
            ],
            ProductCatalog => &[Recommendation],
            Shipping => &[Currency],
            Checkout => &[Inventory, Notification],
            Cart | Payment | Currency | Ad | Recommendation | Inventory | Notification => &[],
        }
    }

    /// The external stores it uses when configured with them.
    pub fn stores(self) -> &'static [&'static str] {
        match self {
            ServiceName::Cart => &["redis"],
            ServiceName::ProductCatalog
            | ServiceName::Checkout
            | ServiceName::Recommendation
            | ServiceName::Inventory => &["postgresql"],
            _ => &[],
        }
    }

    /// The environment variable that overrides the port it listens on.
    pub fn port_var(self) -> String {
        format!(
            "{}_PORT",
            self.url_var()
                .trim_end_matches("_URL")
                .trim_end_matches("_SERVICE")
        )
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ServiceName::ALL.iter().map(|n| n.as_str()).collect();
                format!("unknown service {s:?}; one of: {}", names.join(", "))
            })
    }
}

/// The relational store of product-catalog and checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A PostgreSQL URL, `postgres://user@host:5432/db`.
    Postgres { url: String },
    /// An embedded SQLite file, created and seeded when missing.
    Sqlite { path: PathBuf },
}

impl Database {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH` or a bare path is SQLite.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres {
                url: url.to_owned(),
            })
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Ok(Database::Sqlite {
                path: PathBuf::from(path),
            })
        } else {
            Err(format!(
                "database URL {url:?} is neither postgres://… nor sqlite://PATH"
            ))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Database::Postgres { url } => format!("PostgreSQL {}", redact_url(url)),
            Database::Sqlite { path } => format!("SQLite {}", path.display()),
        }
    }
}

/// Hides the password in a URL for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme_end], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// Share of confirmations the simulated mail relay fails to send.
    pub failure_rate: f64,
    /// Relay latency range.
    pub latency: (Duration, Duration),
}

#[derive(Debug, Clone)]
pub struct PaymentConfig {
    /// Share of valid charges the gateway declines (the original: 1%).
    pub decline_rate: f64,
    /// Gateway latency range (the original: 100–200 ms).
    pub latency: (Duration, Duration),
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Starts generating traffic as soon as the service is up.
    pub autostart: bool,
    /// Journeys started per second.
    pub rate: f64,
    /// Pause between the steps of one journey.
    pub think_time: (Duration, Duration),
    /// Seed for journey choices; random when absent.
    pub seed: Option<u64>,
    /// The most journeys in flight at once.
    pub max_in_flight: usize,
}

/// `DEMO_MODE=blackfriday`: the story is on from start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoStart {
    /// When the story started (`DEMO_START_TIMESTAMP`), Unix milliseconds; start-up time when
    /// absent.
    pub started_at_ms: Option<i64>,
    pub speed: f64,
}

#[derive(Debug, Clone)]
pub struct ShopConfig {
    pub database: Database,
    /// `redis://host:6379/0`; the cart lives in memory when absent.
    pub redis_url: Option<String>,
    /// Base URL of every service, as its callers reach it.
    pub urls: BTreeMap<ServiceName, String>,
    pub cart_ttl: Duration,
    pub payment: PaymentConfig,
    pub notification: NotificationConfig,
    pub load: LoadConfig,
    /// Timeout of one call between services.
    pub request_timeout: Duration,
    /// The shop's name in shared stores (Redis keys): replicas with the same namespace share
    /// their scenarios.
    pub namespace: String,
    /// Bearer token the scenario control API requires for changes; open when absent.
    pub control_token: Option<String>,
    /// Black Friday from start-up.
    pub demo: Option<DemoStart>,
}

impl ShopConfig {
    /// Defaults: every service on localhost at its usual port.
    pub fn new(database: Database, redis_url: Option<String>) -> Self {
        Self {
            database,
            redis_url,
            urls: ServiceName::ALL
                .into_iter()
                .map(|s| (s, format!("http://127.0.0.1:{}", s.default_port())))
                .collect(),
            cart_ttl: Duration::from_secs(2 * 3600),
            payment: PaymentConfig {
                decline_rate: 0.01,
                latency: (Duration::from_millis(100), Duration::from_millis(200)),
            },
            notification: NotificationConfig {
                failure_rate: 0.0,
                latency: (Duration::from_millis(20), Duration::from_millis(80)),
            },
            load: LoadConfig {
                autostart: true,
                rate: 2.0,
                think_time: (Duration::from_millis(500), Duration::from_millis(2000)),
                seed: None,
                max_in_flight: 256,
            },
            request_timeout: Duration::from_secs(10),
            namespace: "tracemart".to_owned(),
            control_token: None,
            demo: None,
        }
    }

    pub fn url(&self, service: ServiceName) -> String {
        self.urls
            .get(&service)
            .cloned()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", service.default_port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_round_trip_and_ports_are_the_originals() {
        for s in ServiceName::ALL {
            assert_eq!(s.as_str().parse::<ServiceName>(), Ok(s));
        }
        assert_eq!(ServiceName::Frontend.default_port(), 8018);
        assert_eq!(ServiceName::Payment.url_var(), "PAYMENT_SERVICE_URL");
        assert_eq!(ServiceName::Payment.port_var(), "PAYMENT_PORT");
        assert_eq!(
            ServiceName::ProductCatalog.port_var(),
            "PRODUCT_CATALOG_PORT"
        );
        assert!("shipping-ish".parse::<ServiceName>().is_err());
    }

    #[test]
    fn database_urls_are_recognised() {
        assert!(matches!(
            Database::from_url("postgres://u@h/db"),
            Ok(Database::Postgres { .. })
        ));
        assert_eq!(
            Database::from_url("sqlite:///tmp/x.db"),
            Ok(Database::Sqlite {
                path: PathBuf::from("/tmp/x.db")
            })
        );
        assert!(Database::from_url("mysql://h/db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:secret@db:5432/shop"),
            "postgres://app:***@db:5432/shop"
        );
        assert_eq!(
            redact_url("postgres://app@db/shop"),
            "postgres://app@db/shop"
        );
    }
}
