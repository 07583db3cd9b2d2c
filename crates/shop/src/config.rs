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
    Accounting,
    FraudDetection,
}

/// One row of the services table: everything the binary, the deployment checks, the console
/// and the tests know about a service.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    pub name: ServiceName,
    /// The `service.name` it reports and the name on the command line.
    pub id: &'static str,
    /// The port the original system gave it.
    pub port: u16,
    /// The environment variable that holds its base URL for the services that call it.
    pub url_var: &'static str,
    /// The environment variable that overrides the port it listens on.
    pub port_var: &'static str,
    /// The services it calls directly.
    pub calls: &'static [ServiceName],
    /// The external stores it uses when configured with them.
    pub stores: &'static [&'static str],
    /// One of the original's (V5) six core services.
    pub core: bool,
}

const POSTGRESQL: &[&str] = &["postgresql"];
/// PostgreSQL, and RabbitMQ for the order events.
const POSTGRESQL_AND_RABBITMQ: &[&str] = &["postgresql", "rabbitmq"];

/// The services of the shop, in start-up order of their listing (`tracemart services`): the one
/// list every other list of services is read from.
pub const SERVICES: [ServiceSpec; 14] = {
    use ServiceName::*;
    [
        ServiceSpec {
            name: LoadGenerator,
            id: "load-generator",
            port: 8010,
            url_var: "LOAD_GENERATOR_URL",
            port_var: "LOAD_GENERATOR_PORT",
            calls: &[Frontend],
            stores: &[],
            core: true,
        },
        ServiceSpec {
            name: Frontend,
            id: "frontend",
            port: 8018,
            url_var: "FRONTEND_URL",
            port_var: "FRONTEND_PORT",
            calls: &[
                Cart,
                ProductCatalog,
                Currency,
                Shipping,
                Ad,
                Payment,
                Checkout,
            ],
            stores: &[],
            core: true,
        },
        ServiceSpec {
            name: Cart,
            id: "cart",
            port: 8013,
            url_var: "CART_SERVICE_URL",
            port_var: "CART_PORT",
            calls: &[],
            stores: &["redis"],
            core: true,
        },
        ServiceSpec {
            name: ProductCatalog,
            id: "product-catalog",
            port: 8014,
            url_var: "PRODUCT_CATALOG_SERVICE_URL",
            port_var: "PRODUCT_CATALOG_PORT",
            calls: &[Recommendation],
            stores: POSTGRESQL,
            core: true,
        },
        ServiceSpec {
            name: Checkout,
            id: "checkout",
            port: 8016,
            url_var: "CHECKOUT_SERVICE_URL",
            port_var: "CHECKOUT_PORT",
            calls: &[ProductCatalog, Payment, Inventory],
            stores: POSTGRESQL_AND_RABBITMQ,
            core: true,
        },
        ServiceSpec {
            name: Payment,
            id: "payment",
            port: 8017,
            url_var: "PAYMENT_SERVICE_URL",
            port_var: "PAYMENT_PORT",
            calls: &[],
            stores: POSTGRESQL,
            core: true,
        },
        ServiceSpec {
            name: Currency,
            id: "currency",
            port: 8011,
            url_var: "CURRENCY_SERVICE_URL",
            port_var: "CURRENCY_PORT",
            calls: &[],
            stores: &[],
            core: false,
        },
        ServiceSpec {
            name: Shipping,
            id: "shipping",
            port: 8012,
            url_var: "SHIPPING_SERVICE_URL",
            port_var: "SHIPPING_PORT",
            calls: &[Currency],
            stores: &[],
            core: false,
        },
        ServiceSpec {
            name: Ad,
            id: "ad",
            port: 8015,
            url_var: "AD_SERVICE_URL",
            port_var: "AD_PORT",
            calls: &[],
            stores: &[],
            core: false,
        },
        ServiceSpec {
            name: Recommendation,
            id: "recommendation",
            port: 8019,
            url_var: "RECOMMENDATION_SERVICE_URL",
            port_var: "RECOMMENDATION_PORT",
            calls: &[],
            stores: POSTGRESQL,
            core: false,
        },
        ServiceSpec {
            name: Inventory,
            id: "inventory",
            port: 8020,
            url_var: "INVENTORY_SERVICE_URL",
            port_var: "INVENTORY_PORT",
            calls: &[],
            stores: POSTGRESQL,
            core: false,
        },
        ServiceSpec {
            name: Notification,
            id: "notification",
            port: 8021,
            url_var: "NOTIFICATION_SERVICE_URL",
            port_var: "NOTIFICATION_PORT",
            calls: &[Checkout],
            stores: POSTGRESQL_AND_RABBITMQ,
            core: false,
        },
        ServiceSpec {
            name: Accounting,
            id: "accounting",
            port: 8022,
            url_var: "ACCOUNTING_SERVICE_URL",
            port_var: "ACCOUNTING_PORT",
            calls: &[],
            stores: POSTGRESQL_AND_RABBITMQ,
            core: false,
        },
        ServiceSpec {
            name: FraudDetection,
            id: "fraud-detection",
            port: 8023,
            url_var: "FRAUD_DETECTION_SERVICE_URL",
            port_var: "FRAUD_DETECTION_PORT",
            calls: &[],
            stores: POSTGRESQL_AND_RABBITMQ,
            core: false,
        },
    ]
};

// `ServiceName::spec` indexes the table by the enum's discriminant.
const _: () = {
    let mut i = 0;
    while i < SERVICES.len() {
        assert!(
            SERVICES[i].name as usize == i,
            "SERVICES lists the services in the order of ServiceName"
        );
        i += 1;
    }
};

impl ServiceName {
    /// Every service, in the order of [`SERVICES`].
    pub const ALL: [ServiceName; SERVICES.len()] = {
        let mut all = [ServiceName::LoadGenerator; SERVICES.len()];
        let mut i = 0;
        while i < SERVICES.len() {
            all[i] = SERVICES[i].name;
            i += 1;
        }
        all
    };

    /// Its row of the services table.
    pub fn spec(self) -> &'static ServiceSpec {
        &SERVICES[self as usize]
    }

    /// The `service.name` it reports and the name on the command line.
    pub fn as_str(self) -> &'static str {
        self.spec().id
    }

    /// The port the original system gave it.
    pub fn default_port(self) -> u16 {
        self.spec().port
    }

    /// The environment variable that holds its base URL for the services that call it.
    pub fn url_var(self) -> &'static str {
        self.spec().url_var
    }

    /// The services it calls directly.
    pub fn calls(self) -> &'static [ServiceName] {
        self.spec().calls
    }

    /// The external stores it uses when configured with them.
    pub fn stores(self) -> &'static [&'static str] {
        self.spec().stores
    }

    /// The environment variable that overrides the port it listens on.
    pub fn port_var(self) -> &'static str {
        self.spec().port_var
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

/// Change markers: Coralogix's version tags API (`scenario::markers` posts them).
#[derive(Clone)]
pub struct MarkerConfig {
    /// The tags endpoint (`https://api.eu2.coralogix.com/api/v1/external/tags`).
    pub url: String,
    pub api_key: String,
    /// `application` of the tag (`CX_APPLICATION_NAME`).
    pub application: String,
}

impl std::fmt::Debug for MarkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarkerConfig")
            .field("url", &self.url)
            .field("api_key", &"<redacted>")
            .field("application", &self.application)
            .finish()
    }
}

impl MarkerConfig {
    /// The tags endpoint of a Coralogix domain (`eu2.coralogix.com`, or a bare region such as
    /// `eu2`).
    pub fn tags_url(domain: &str) -> String {
        let domain = domain
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/');
        let domain = if domain.contains('.') {
            domain.to_owned()
        } else {
            format!("{domain}.coralogix.com")
        };
        format!("https://api.{domain}/api/v1/external/tags")
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
    /// Every request of a journey carries the journey's traffic type, instead of only the
    /// checkout request being `demo`.
    pub per_journey_tagging: bool,
    /// While Black Friday runs, the generator runs the Black Friday load profile.
    pub follows_story: bool,
}

/// Whether the shop's operations take production-like times (`crate::latency`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LatencyModel {
    #[default]
    Realistic,
    /// Only what the machine takes (and scenario delays): benchmarks, timing tests.
    None,
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
    /// `amqp://user:pass@host:5672/%2f`: RabbitMQ carries the order events; an in-process
    /// broker does when absent.
    pub amqp_url: Option<String>,
    /// Base URL of every service, as its callers reach it.
    pub urls: BTreeMap<ServiceName, String>,
    pub cart_ttl: Duration,
    pub payment: PaymentConfig,
    pub notification: NotificationConfig,
    pub load: LoadConfig,
    pub latency: LatencyModel,
    /// Timeout of one call between services.
    pub request_timeout: Duration,
    /// The shop's name in shared stores (Redis keys): replicas with the same namespace share
    /// their scenarios.
    pub namespace: String,
    /// Bearer token the scenario control API requires for changes; open when absent.
    pub control_token: Option<String>,
    /// Black Friday from start-up.
    pub demo: Option<DemoStart>,
    /// How old an unsettled charge must be before checkout's reconciliation settles it (its
    /// checkout has surely ended by then).
    pub reconcile_after: Duration,
    /// Whether the scenarios' ground truth is in the telemetry (`tracemart.scenario.*`
    /// metrics, `scenario.*` log events, `fault.*` span attributes). Off for testing an RCA
    /// tool, which must not be handed the answer; the control API's history keeps it.
    pub ground_truth_in_telemetry: bool,
    /// Change markers for every scenario change (Coralogix version tags), when configured.
    pub markers: Option<MarkerConfig>,
}

impl ShopConfig {
    /// Defaults: every service on localhost at its usual port.
    pub fn new(database: Database, redis_url: Option<String>) -> Self {
        Self {
            database,
            redis_url,
            amqp_url: None,
            ground_truth_in_telemetry: true,
            markers: None,
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
                per_journey_tagging: false,
                follows_story: true,
            },
            latency: LatencyModel::Realistic,
            request_timeout: Duration::from_secs(10),
            namespace: "tracemart".to_owned(),
            control_token: None,
            demo: None,
            reconcile_after: Duration::from_secs(30),
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
    fn the_services_table_has_every_service_once() {
        for (i, spec) in SERVICES.iter().enumerate() {
            assert_eq!(spec.name.spec().id, spec.id, "row {i} is found by its name");
            assert!(
                SERVICES[..i].iter().all(|s| s.name != spec.name
                    && s.id != spec.id
                    && s.port != spec.port
                    && s.url_var != spec.url_var
                    && s.port_var != spec.port_var),
                "{} appears once, with its own port and variables",
                spec.id
            );
            assert!(
                spec.calls.iter().all(|c| *c != spec.name),
                "{} calls itself",
                spec.id
            );
        }
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
