// Package config reads the service configuration from the environment and
// flags, fills defaults and validates it as a whole.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Config is everything `contacts serve` needs.
type Config struct {
	HTTPAddr       string        // CONTACTS_HTTP_ADDR
	DatabaseURL    string        // DATABASE_URL; empty: a private cluster in DataDir
	DataDir        string        // CONTACTS_DATA_DIR
	JWTSecret      string        // CONTACTS_JWT_SECRET; empty: generated, kept in DataDir
	WriteKey       string        // CONTACTS_WRITE_KEY
	LogLevel       string        // LOG_LEVEL: debug, info, warn, error
	RequestLog     string        // CONTACTS_REQUEST_LOG: the level of the per-request line, or off
	AccessTokenTTL time.Duration // CONTACTS_ACCESS_TOKEN_TTL
	MaxBodyBytes   int64         // CONTACTS_MAX_BODY_BYTES
	DBMaxConns     int32         // CONTACTS_DB_MAX_CONNS
	ShutdownGrace  time.Duration // CONTACTS_SHUTDOWN_TIMEOUT

	KafkaBrokers     []string // KAFKA_BROKERS (comma-separated); empty: embedded, no broker
	KafkaTopicPrefix string   // KAFKA_TOPIC_PREFIX
	ElasticsearchURL string   // ELASTICSEARCH_URL; empty: the read model lives in PostgreSQL
	ESIndexPrefix    string   // ELASTICSEARCH_INDEX_PREFIX
	ESReplicas       int      // ELASTICSEARCH_REPLICAS (number_of_replicas of new indices)
	Roles            []string // CONTACTS_ROLES / --roles: api, relay, projector

	RateLimit          float64  // CONTACTS_RATE_LIMIT: requests (and WebSocket messages) per second per user or API key; 0: off
	RateLimitBurst     int      // CONTACTS_RATE_LIMIT_BURST
	IPRateLimit        float64  // CONTACTS_IP_RATE_LIMIT: requests per second per client IP; 0: off
	IPRateLimitBurst   int      // CONTACTS_IP_RATE_LIMIT_BURST
	LoginRateLimit     float64  // CONTACTS_LOGIN_RATE_LIMIT: sign-in attempts per minute per e-mail (×4 per IP for every auth route); 0: off
	TrustedProxies     []string // CONTACTS_TRUSTED_PROXIES: proxies allowed to set X-Forwarded-For (IPs or CIDRs)
	OperatorAccounts   []string // CONTACTS_OPERATOR_ACCOUNTS: accounts whose administrators see store-wide projection figures
	ImportDir          string   // CONTACTS_IMPORT_DIR; default <DataDir>/imports
	ImportMaxFileBytes int64    // CONTACTS_IMPORT_MAX_FILE_BYTES
	ImportMaxRows      int64    // CONTACTS_IMPORT_MAX_ROWS
	BulkMaxBodyBytes   int64    // CONTACTS_BULK_MAX_BODY_BYTES
}

// Roles a `serve` process can run.
const (
	RoleAPI       = "api"
	RoleRelay     = "relay"
	RoleProjector = "projector"
)

// Has reports whether the process runs role.
func (c Config) Has(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// FromEnv reads the environment, then lets flags in args override it.
func FromEnv(args []string, getenv func(string) string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.HTTPAddr, "http-addr", getenv("CONTACTS_HTTP_ADDR"), "HTTP listen address (CONTACTS_HTTP_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL (DATABASE_URL); empty starts a private cluster")
	fs.StringVar(&c.DataDir, "data-dir", getenv("CONTACTS_DATA_DIR"), "data directory (CONTACTS_DATA_DIR)")
	fs.StringVar(&c.JWTSecret, "jwt-secret", getenv("CONTACTS_JWT_SECRET"), "HS256 signing secret (CONTACTS_JWT_SECRET)")
	fs.StringVar(&c.WriteKey, "write-key", getenv("CONTACTS_WRITE_KEY"), "write key for WebSocket create_contact (CONTACTS_WRITE_KEY)")
	fs.StringVar(&c.LogLevel, "log-level", getenv("LOG_LEVEL"), "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&c.RequestLog, "request-log", getenv("CONTACTS_REQUEST_LOG"), "level of the one line logged per request: debug, info, warn, error, or off (CONTACTS_REQUEST_LOG)")
	var ttl, grace, maxBody, maxConns, brokers, roles, replicas string
	fs.StringVar(&replicas, "elasticsearch-replicas", getenv("ELASTICSEARCH_REPLICAS"), "number_of_replicas of new indices (ELASTICSEARCH_REPLICAS), default 1; 0 on a single node")
	fs.StringVar(&brokers, "kafka-brokers", getenv("KAFKA_BROKERS"), "Kafka bootstrap brokers, comma-separated (KAFKA_BROKERS); empty: no broker")
	fs.StringVar(&c.KafkaTopicPrefix, "kafka-topic-prefix", getenv("KAFKA_TOPIC_PREFIX"), "Kafka topic prefix (KAFKA_TOPIC_PREFIX)")
	fs.StringVar(&c.ElasticsearchURL, "elasticsearch-url", getenv("ELASTICSEARCH_URL"), "Elasticsearch URL (ELASTICSEARCH_URL); empty: PostgreSQL read model")
	fs.StringVar(&c.ESIndexPrefix, "elasticsearch-index-prefix", getenv("ELASTICSEARCH_INDEX_PREFIX"), "Elasticsearch index prefix (ELASTICSEARCH_INDEX_PREFIX)")
	fs.StringVar(&roles, "roles", getenv("CONTACTS_ROLES"), "roles of this process: api,relay,projector (CONTACTS_ROLES)")
	fs.StringVar(&ttl, "access-token-ttl", getenv("CONTACTS_ACCESS_TOKEN_TTL"), "access token lifetime (CONTACTS_ACCESS_TOKEN_TTL)")
	fs.StringVar(&grace, "shutdown-timeout", getenv("CONTACTS_SHUTDOWN_TIMEOUT"), "graceful shutdown limit (CONTACTS_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&maxBody, "max-body-bytes", getenv("CONTACTS_MAX_BODY_BYTES"), "largest JSON request body (CONTACTS_MAX_BODY_BYTES)")
	fs.StringVar(&maxConns, "db-max-conns", getenv("CONTACTS_DB_MAX_CONNS"), "PostgreSQL pool size (CONTACTS_DB_MAX_CONNS)")
	var rl, rlBurst, ipRL, ipBurst, loginRL, proxies string
	fs.StringVar(&rl, "rate-limit", getenv("CONTACTS_RATE_LIMIT"), "requests per second per user or API key (CONTACTS_RATE_LIMIT), default 10; 0: off")
	fs.StringVar(&rlBurst, "rate-limit-burst", getenv("CONTACTS_RATE_LIMIT_BURST"), "burst per user or API key (CONTACTS_RATE_LIMIT_BURST), default 20")
	fs.StringVar(&ipRL, "ip-rate-limit", getenv("CONTACTS_IP_RATE_LIMIT"), "requests per second per client IP (CONTACTS_IP_RATE_LIMIT), default 50; 0: off")
	fs.StringVar(&ipBurst, "ip-rate-limit-burst", getenv("CONTACTS_IP_RATE_LIMIT_BURST"), "burst per client IP (CONTACTS_IP_RATE_LIMIT_BURST), default 100")
	fs.StringVar(&loginRL, "login-rate-limit", getenv("CONTACTS_LOGIN_RATE_LIMIT"), "sign-in attempts per minute per e-mail (CONTACTS_LOGIN_RATE_LIMIT), default 5; 0: off")
	fs.StringVar(&proxies, "trusted-proxies", getenv("CONTACTS_TRUSTED_PROXIES"), "proxies allowed to set X-Forwarded-For, comma-separated IPs or CIDRs (CONTACTS_TRUSTED_PROXIES)")
	var operators string
	fs.StringVar(&operators, "operator-accounts", getenv("CONTACTS_OPERATOR_ACCOUNTS"), "account ids whose administrators see the store-wide projection figures, comma-separated (CONTACTS_OPERATOR_ACCOUNTS)")
	var importMax, importRows, bulkMax string
	fs.StringVar(&c.ImportDir, "import-dir", getenv("CONTACTS_IMPORT_DIR"), "where uploaded CSV files and error files are kept (CONTACTS_IMPORT_DIR)")
	fs.StringVar(&importMax, "import-max-file-bytes", getenv("CONTACTS_IMPORT_MAX_FILE_BYTES"), "largest CSV import file (CONTACTS_IMPORT_MAX_FILE_BYTES)")
	fs.StringVar(&importRows, "import-max-rows", getenv("CONTACTS_IMPORT_MAX_ROWS"), "most data rows in one CSV import (CONTACTS_IMPORT_MAX_ROWS)")
	fs.StringVar(&bulkMax, "bulk-max-body-bytes", getenv("CONTACTS_BULK_MAX_BODY_BYTES"), "largest POST /contacts/bulk body (CONTACTS_BULK_MAX_BODY_BYTES)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	var err error
	if ttl != "" {
		if c.AccessTokenTTL, err = time.ParseDuration(ttl); err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_ACCESS_TOKEN_TTL: %w", err))
		}
	}
	if grace != "" {
		if c.ShutdownGrace, err = time.ParseDuration(grace); err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_SHUTDOWN_TIMEOUT: %w", err))
		}
	}
	if maxBody != "" {
		if _, err := fmt.Sscan(maxBody, &c.MaxBodyBytes); err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_MAX_BODY_BYTES: %w", err))
		}
	}
	if maxConns != "" {
		if _, err := fmt.Sscan(maxConns, &c.DBMaxConns); err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_DB_MAX_CONNS: %w", err))
		}
	}
	c.ESReplicas = 1
	if replicas != "" {
		if _, err := fmt.Sscan(replicas, &c.ESReplicas); err != nil || c.ESReplicas < 0 {
			errs = append(errs, fmt.Errorf("ELASTICSEARCH_REPLICAS must be a whole number ≥ 0"))
		}
	}
	c.RateLimit, c.RateLimitBurst, c.IPRateLimit, c.IPRateLimitBurst, c.LoginRateLimit = 10, 20, 50, 100, 5
	for _, v := range []struct {
		name, val string
		dst       any
	}{
		{"CONTACTS_RATE_LIMIT", rl, &c.RateLimit}, {"CONTACTS_RATE_LIMIT_BURST", rlBurst, &c.RateLimitBurst},
		{"CONTACTS_IP_RATE_LIMIT", ipRL, &c.IPRateLimit}, {"CONTACTS_IP_RATE_LIMIT_BURST", ipBurst, &c.IPRateLimitBurst},
		{"CONTACTS_LOGIN_RATE_LIMIT", loginRL, &c.LoginRateLimit},
	} {
		if v.val == "" {
			continue
		}
		if _, err := fmt.Sscan(v.val, v.dst); err != nil {
			errs = append(errs, fmt.Errorf("%s must be a number ≥ 0", v.name))
		}
	}
	c.TrustedProxies = splitList(proxies)
	for _, id := range splitList(operators) {
		u, err := uuid.Parse(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_OPERATOR_ACCOUNTS: %q is not an account id", id))
			continue
		}
		c.OperatorAccounts = append(c.OperatorAccounts, u.String())
	}
	for _, n := range []struct {
		name, v string
		dst     *int64
	}{{"CONTACTS_IMPORT_MAX_FILE_BYTES", importMax, &c.ImportMaxFileBytes}, {"CONTACTS_IMPORT_MAX_ROWS", importRows, &c.ImportMaxRows},
		{"CONTACTS_BULK_MAX_BODY_BYTES", bulkMax, &c.BulkMaxBodyBytes}} {
		if n.v == "" {
			continue
		}
		if _, err := fmt.Sscan(n.v, n.dst); err != nil || *n.dst < 1 {
			errs = append(errs, fmt.Errorf("%s must be a whole number ≥ 1", n.name))
		}
	}
	c.KafkaBrokers = splitList(brokers)
	c.Roles = splitList(roles)
	c.SetDefaults()
	errs = append(errs, c.Validate())
	return c, errors.Join(errs...)
}

// SetDefaults fills every unset field.
func (c *Config) SetDefaults() {
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./.contacts-data"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.RequestLog == "" {
		c.RequestLog = "info"
	}
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = time.Hour
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.DBMaxConns == 0 {
		c.DBMaxConns = 32
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 20 * time.Second
	}
	if c.KafkaTopicPrefix == "" {
		c.KafkaTopicPrefix = "contacts."
	}
	if c.ESIndexPrefix == "" {
		c.ESIndexPrefix = "contacts-"
	}
	if len(c.Roles) == 0 {
		c.Roles = []string{RoleAPI, RoleRelay, RoleProjector}
	}
	if c.ImportDir == "" {
		c.ImportDir = filepath.Join(c.DataDir, "imports")
	}
	if c.ImportMaxFileBytes == 0 {
		c.ImportMaxFileBytes = 2 << 30
	}
	if c.ImportMaxRows == 0 {
		c.ImportMaxRows = 10_000_000
	}
	if c.BulkMaxBodyBytes == 0 {
		c.BulkMaxBodyBytes = 64 << 20
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("CONTACTS_HTTP_ADDR %q: %w", c.HTTPAddr, err))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("DATABASE_URL must be a postgres:// URL"))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, fmt.Errorf("CONTACTS_JWT_SECRET must be at least 32 characters"))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := ParseRequestLog(c.RequestLog); err != nil {
		errs = append(errs, err)
	}
	if c.AccessTokenTTL < time.Minute {
		errs = append(errs, fmt.Errorf("CONTACTS_ACCESS_TOKEN_TTL must be at least 1m"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("CONTACTS_MAX_BODY_BYTES must be at least 1024"))
	}
	if c.DBMaxConns < 2 {
		errs = append(errs, fmt.Errorf("CONTACTS_DB_MAX_CONNS must be at least 2"))
	}
	for _, r := range c.Roles {
		if r != RoleAPI && r != RoleRelay && r != RoleProjector {
			errs = append(errs, fmt.Errorf("CONTACTS_ROLES: unknown role %q (want api, relay, projector)", r))
		}
	}
	for _, b := range c.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS %q: %w", b, err))
		}
	}
	if c.RateLimit < 0 || c.IPRateLimit < 0 || c.LoginRateLimit < 0 {
		errs = append(errs, fmt.Errorf("CONTACTS_RATE_LIMIT, CONTACTS_IP_RATE_LIMIT and CONTACTS_LOGIN_RATE_LIMIT must be ≥ 0 (0: off)"))
	}
	if (c.RateLimit > 0 && c.RateLimitBurst < 1) || (c.IPRateLimit > 0 && c.IPRateLimitBurst < 1) {
		errs = append(errs, fmt.Errorf("CONTACTS_RATE_LIMIT_BURST and CONTACTS_IP_RATE_LIMIT_BURST must be at least 1"))
	}
	for _, p := range c.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				errs = append(errs, fmt.Errorf("CONTACTS_TRUSTED_PROXIES: %q is not an IP or CIDR", p))
			}
		}
	}
	if c.ElasticsearchURL != "" && !strings.HasPrefix(c.ElasticsearchURL, "http://") && !strings.HasPrefix(c.ElasticsearchURL, "https://") {
		errs = append(errs, fmt.Errorf("ELASTICSEARCH_URL must be an http(s) URL"))
	}
	return errors.Join(errs...)
}

// ParseLevel maps LOG_LEVEL to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// ParseRequestLog maps CONTACTS_REQUEST_LOG to the level of the per-request
// line; off reports no line at all.
func ParseRequestLog(s string) (level slog.Level, off bool, err error) {
	if strings.EqualFold(s, "off") {
		return 0, true, nil
	}
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return level, false, fmt.Errorf("CONTACTS_REQUEST_LOG %q: want debug, info, warn, error or off", s)
	}
	return level, false, nil
}

// Getenv is os.Getenv, named for wiring.
var Getenv = os.Getenv
