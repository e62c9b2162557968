// Package config reads the service configuration from the environment and
// flags, fills defaults and validates it as a whole.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"
)

// Config is everything `contacts serve` needs.
type Config struct {
	HTTPAddr       string        // CONTACTS_HTTP_ADDR
	HealthAddr     string        // CONTACTS_HEALTH_ADDR: /healthz and /readyz of a process without the api role
	DatabaseURL    string        // DATABASE_URL; empty: a private cluster in DataDir
	DataDir        string        // CONTACTS_DATA_DIR
	JWTSecret      string        // CONTACTS_JWT_SECRET; empty: generated, kept in DataDir
	EncryptionKey  string        // CONTACTS_ENCRYPTION_KEY: wraps contacts' data keys (base64 or hex of 32 bytes); empty: not wrapped
	WriteKey       string        // CONTACTS_WRITE_KEY
	LogLevel       string        // LOG_LEVEL: debug, info, warn, error
	RequestLog     string        // CONTACTS_REQUEST_LOG: the level of the per-request line, or off
	Metrics        string        // CONTACTS_METRICS: on (GET /metrics) or off (no metric is kept)
	MetricsAddr    string        // CONTACTS_METRICS_ADDR: serve /metrics here instead of on the main listener
	AccessTokenTTL time.Duration // CONTACTS_ACCESS_TOKEN_TTL
	MaxBodyBytes   int64         // CONTACTS_MAX_BODY_BYTES
	DBMaxConns     int32         // CONTACTS_DB_MAX_CONNS
	ShutdownGrace  time.Duration // CONTACTS_SHUTDOWN_TIMEOUT

	KafkaBrokers     []string // KAFKA_BROKERS (comma-separated); empty: embedded, no broker
	KafkaTopicPrefix string   // KAFKA_TOPIC_PREFIX
	ElasticsearchURL string   // ELASTICSEARCH_URL; empty: the read model lives in PostgreSQL
	ESIndexPrefix    string   // ELASTICSEARCH_INDEX_PREFIX
	ESReplicas       int      // ELASTICSEARCH_REPLICAS (number_of_replicas of new indices)
	Roles            []string // CONTACTS_ROLES / --roles: api, relay, projector, importer

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
	// RoleImporter runs the CSV import worker (commands/imports): it
	// resumes unfinished jobs, then runs queued ones. The api role only
	// accepts uploads and answers job status.
	RoleImporter = "importer"
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

// A setting is one CONTACTS_* (or DATABASE_URL, …) variable and its flag
// of the same meaning. parse stores a text value into a Config; the same
// parser serves the environment and the flag, so both accept the same
// values.
type setting struct {
	flag, env, typ, def, usage string
	parse                      func(c *Config, s string) error
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, s string) error { *dst(c) = s; return nil }
}

func list(dst func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, s string) error { *dst(c) = splitList(s); return nil }
}

func duration(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*dst(c) = d
		return nil
	}
}

// number parses a whole or decimal number into *dst (int, int32, int64,
// float64); at least min.
func number[T int | int32 | int64 | float64](dst func(*Config) *T, min T, what string) func(*Config, string) error {
	return func(c *Config, s string) error {
		var v T
		if _, err := fmt.Sscan(s, &v); err != nil || v < min {
			return fmt.Errorf("must be %s", what)
		}
		*dst(c) = v
		return nil
	}
}

// accountIDs parses a comma-separated list of account ids (UUIDs, stored in
// their canonical lower-case form).
func accountIDs(dst func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, s string) error {
		var ids []string
		for _, id := range splitList(s) {
			u, err := uuid.Parse(id)
			if err != nil {
				return fmt.Errorf("%q is not an account id", id)
			}
			ids = append(ids, u.String())
		}
		*dst(c) = ids
		return nil
	}
}

var settings = []setting{
	{"http-addr", "CONTACTS_HTTP_ADDR", "host:port", "127.0.0.1:8080", "HTTP listen address", str(func(c *Config) *string { return &c.HTTPAddr })},
	{"health-addr", "CONTACTS_HEALTH_ADDR", "host:port", "", "health listener (/healthz, /readyz) of a process without the api role; empty: none", str(func(c *Config) *string { return &c.HealthAddr })},
	{"database-url", "DATABASE_URL", "url", "", "PostgreSQL URL; empty starts a private cluster in the data directory", str(func(c *Config) *string { return &c.DatabaseURL })},
	{"data-dir", "CONTACTS_DATA_DIR", "dir", "./.contacts-data", "data directory: private cluster, generated secrets, imports", str(func(c *Config) *string { return &c.DataDir })},
	{"jwt-secret", "CONTACTS_JWT_SECRET", "secret", "", "HS256 signing secret (32+ characters); empty: generated, kept in the data directory", str(func(c *Config) *string { return &c.JWTSecret })},
	{"encryption-key", "CONTACTS_ENCRYPTION_KEY", "key", "", "master key wrapping contacts' data keys, 32 bytes as base64 or hex (openssl rand -base64 32); empty: not wrapped", str(func(c *Config) *string { return &c.EncryptionKey })},
	{"write-key", "CONTACTS_WRITE_KEY", "key", "", "write key for WebSocket create_contact", str(func(c *Config) *string { return &c.WriteKey })},
	{"log-level", "LOG_LEVEL", "level", "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"request-log", "CONTACTS_REQUEST_LOG", "level", "info", "level of the one line logged per HTTP request: debug, info, warn, error, or off", str(func(c *Config) *string { return &c.RequestLog })},
	{"metrics", "CONTACTS_METRICS", "on|off", "on", "Prometheus metrics (GET /metrics); off keeps none (for a before/after benchmark)", str(func(c *Config) *string { return &c.Metrics })},
	{"metrics-addr", "CONTACTS_METRICS_ADDR", "host:port", "", "serve GET /metrics on this listener only (not on the main one); empty: on the main listener", str(func(c *Config) *string { return &c.MetricsAddr })},
	{"roles", "CONTACTS_ROLES", "roles", "api,relay,projector,importer", "roles of this process, comma-separated: api, relay, projector, importer", list(func(c *Config) *[]string { return &c.Roles })},
	{"kafka-brokers", "KAFKA_BROKERS", "brokers", "", "Kafka bootstrap brokers, comma-separated; empty: no broker", list(func(c *Config) *[]string { return &c.KafkaBrokers })},
	{"kafka-topic-prefix", "KAFKA_TOPIC_PREFIX", "prefix", "contacts.", "Kafka topic prefix", str(func(c *Config) *string { return &c.KafkaTopicPrefix })},
	{"elasticsearch-url", "ELASTICSEARCH_URL", "url", "", "Elasticsearch URL; empty: the read model lives in PostgreSQL", str(func(c *Config) *string { return &c.ElasticsearchURL })},
	{"elasticsearch-index-prefix", "ELASTICSEARCH_INDEX_PREFIX", "prefix", "contacts-", "Elasticsearch index prefix", str(func(c *Config) *string { return &c.ESIndexPrefix })},
	{"elasticsearch-replicas", "ELASTICSEARCH_REPLICAS", "int", "1", "number_of_replicas of new indices; 0 on a single node", number(func(c *Config) *int { return &c.ESReplicas }, 0, "a whole number ≥ 0")},
	{"access-token-ttl", "CONTACTS_ACCESS_TOKEN_TTL", "duration", "1h", "access token lifetime", duration(func(c *Config) *time.Duration { return &c.AccessTokenTTL })},
	{"shutdown-timeout", "CONTACTS_SHUTDOWN_TIMEOUT", "duration", "20s", "graceful shutdown limit", duration(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
	{"max-body-bytes", "CONTACTS_MAX_BODY_BYTES", "bytes", "1048576", "largest JSON request body", number(func(c *Config) *int64 { return &c.MaxBodyBytes }, 0, "a whole number")},
	{"db-max-conns", "CONTACTS_DB_MAX_CONNS", "int", "32", "PostgreSQL pool size", number(func(c *Config) *int32 { return &c.DBMaxConns }, 0, "a whole number")},
	{"rate-limit", "CONTACTS_RATE_LIMIT", "float", "10", "requests (and WebSocket messages) per second per user or API key; 0: off", number(func(c *Config) *float64 { return &c.RateLimit }, -1e308, "a number ≥ 0")},
	{"rate-limit-burst", "CONTACTS_RATE_LIMIT_BURST", "int", "20", "burst per user or API key", number(func(c *Config) *int { return &c.RateLimitBurst }, math.MinInt, "a number ≥ 0")},
	{"ip-rate-limit", "CONTACTS_IP_RATE_LIMIT", "float", "50", "requests per second per client IP; 0: off", number(func(c *Config) *float64 { return &c.IPRateLimit }, -1e308, "a number ≥ 0")},
	{"ip-rate-limit-burst", "CONTACTS_IP_RATE_LIMIT_BURST", "int", "100", "burst per client IP", number(func(c *Config) *int { return &c.IPRateLimitBurst }, math.MinInt, "a number ≥ 0")},
	{"login-rate-limit", "CONTACTS_LOGIN_RATE_LIMIT", "float", "5", "sign-in attempts per minute per e-mail (×4 per IP for every auth route); 0: off", number(func(c *Config) *float64 { return &c.LoginRateLimit }, -1e308, "a number ≥ 0")},
	{"trusted-proxies", "CONTACTS_TRUSTED_PROXIES", "ips", "", "proxies allowed to set X-Forwarded-For, comma-separated IPs or CIDRs", list(func(c *Config) *[]string { return &c.TrustedProxies })},
	{"operator-accounts", "CONTACTS_OPERATOR_ACCOUNTS", "ids", "", "account ids, comma-separated, whose administrators see the store-wide figures of GET /api/v1/projections", accountIDs(func(c *Config) *[]string { return &c.OperatorAccounts })},
	{"import-dir", "CONTACTS_IMPORT_DIR", "dir", "<data-dir>/imports", "where uploaded CSV files and error files are kept", str(func(c *Config) *string { return &c.ImportDir })},
	{"import-max-file-bytes", "CONTACTS_IMPORT_MAX_FILE_BYTES", "bytes", "2147483648", "largest CSV import file", number(func(c *Config) *int64 { return &c.ImportMaxFileBytes }, 1, "a whole number ≥ 1")},
	{"import-max-rows", "CONTACTS_IMPORT_MAX_ROWS", "int", "10000000", "most data rows in one CSV import", number(func(c *Config) *int64 { return &c.ImportMaxRows }, 1, "a whole number ≥ 1")},
	{"bulk-max-body-bytes", "CONTACTS_BULK_MAX_BODY_BYTES", "bytes", "67108864", "largest POST /contacts/bulk body", number(func(c *Config) *int64 { return &c.BulkMaxBodyBytes }, 1, "a whole number ≥ 1")},
}

// flagValue holds a setting's flag text; Set checks it with the setting's
// parser so that `--db-max-conns x` fails at parsing, naming the flag.
type flagValue struct {
	s   *setting
	val string
}

func (v *flagValue) String() string { return v.val }
func (v *flagValue) Type() string   { return v.s.typ }
func (v *flagValue) Set(s string) error {
	if err := v.s.parse(&Config{}, s); err != nil {
		return err
	}
	v.val = s
	return nil
}

// SettingAnnotation marks the flags AddFlags registers, so that help can
// list them apart from a command's own flags.
const SettingAnnotation = "contacts/setting"

// AddFlags registers every setting on fs, each with its default and its
// environment variable in the help text.
func AddFlags(fs *pflag.FlagSet) {
	for i := range settings {
		s := &settings[i]
		fs.AddFlag(&pflag.Flag{
			Name: s.flag, Usage: s.usage + " (" + s.env + ")",
			Value: &flagValue{s: s, val: s.def}, DefValue: s.def,
			Annotations: map[string][]string{SettingAnnotation: {s.env}},
		})
	}
}

// Load builds the Config from the environment, overridden by the flags of
// fs that were set (fs must have been given AddFlags).
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	var c Config
	// Defaults whose zero value is meaningful (0: off).
	c.ESReplicas = 1
	c.RateLimit, c.RateLimitBurst, c.IPRateLimit, c.IPRateLimitBurst, c.LoginRateLimit = 10, 20, 50, 100, 5
	var errs []error
	for i := range settings {
		s := &settings[i]
		raw := getenv(s.env)
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			raw = f.Value.String()
		}
		if raw == "" {
			continue
		}
		if err := s.parse(&c, raw); err != nil {
			sep := ": "
			if strings.HasPrefix(err.Error(), "must ") {
				sep = " "
			}
			errs = append(errs, fmt.Errorf("%s%s%w", s.env, sep, err))
		}
	}
	c.SetDefaults()
	errs = append(errs, c.Validate())
	return c, errors.Join(errs...)
}

// FromEnv reads the environment, then lets flags in args override it.
func FromEnv(args []string, getenv func(string) string) (Config, error) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return Load(fs, getenv)
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
	if c.Metrics == "" {
		c.Metrics = "on"
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
		c.Roles = []string{RoleAPI, RoleRelay, RoleProjector, RoleImporter}
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
	if _, err := parseMasterKey(c.EncryptionKey); err != nil {
		errs = append(errs, err)
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
		if r != RoleAPI && r != RoleRelay && r != RoleProjector && r != RoleImporter {
			errs = append(errs, fmt.Errorf("CONTACTS_ROLES: unknown role %q (want api, relay, projector, importer)", r))
		}
	}
	for _, b := range c.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS %q: %w", b, err))
		}
	}
	if c.HealthAddr != "" {
		if _, _, err := net.SplitHostPort(c.HealthAddr); err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_HEALTH_ADDR %q: %w", c.HealthAddr, err))
		}
	}
	if c.Metrics != "on" && c.Metrics != "off" {
		errs = append(errs, fmt.Errorf("CONTACTS_METRICS %q: want on or off", c.Metrics))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("CONTACTS_METRICS_ADDR %q: %w", c.MetricsAddr, err))
		} else if c.Metrics == "off" {
			errs = append(errs, fmt.Errorf("CONTACTS_METRICS_ADDR is set but CONTACTS_METRICS is off"))
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

// MetricsOn reports whether metrics are kept and served (CONTACTS_METRICS).
func (c Config) MetricsOn() bool { return c.Metrics != "off" }

// Getenv is os.Getenv, named for wiring.
var Getenv = os.Getenv

// MasterKey is CONTACTS_ENCRYPTION_KEY decoded (nil when unset; Validate
// refuses a malformed one).
func (c Config) MasterKey() []byte {
	k, _ := parseMasterKey(c.EncryptionKey)
	return k
}

func parseMasterKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, fmt.Errorf("CONTACTS_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64 (openssl rand -base64 32)")
}
