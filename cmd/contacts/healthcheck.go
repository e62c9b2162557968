package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"contacts/internal/config"
)

// newHealthcheckCommand is the container's HEALTHCHECK: the distroless
// image has no curl.
func newHealthcheckCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "GET /healthz (or /readyz) of the local service; exit 1 unless it answers 200",
		Long: "GET /healthz (or, with --ready, /readyz) of the service configured by the same environment:\n" +
			"the API's CONTACTS_HTTP_ADDR, or CONTACTS_HEALTH_ADDR for a process without the api role.\n" +
			"A wildcard host (0.0.0.0, ::) is asked on the loopback address. Exit 0 on 200, else 1.",
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	url := fs.String("url", "", "the URL to GET instead (e.g. http://127.0.0.1:8080/healthz)")
	ready := fs.Bool("ready", false, "check /readyz (dependencies answer) instead of /healthz (the process is up)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	config.AddFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target := *url
		if target == "" {
			cfg, err := config.Load(cmd.Flags(), config.Getenv)
			if err != nil {
				return err
			}
			path := "/healthz"
			if *ready {
				path = "/readyz"
			}
			if target, err = healthURL(cfg, path); err != nil {
				return err
			}
		}
		return healthcheck(cmd.Context(), target, *timeout, cmd.OutOrStdout())
	}
	return cmd
}

// healthURL is where this configuration's process answers path.
func healthURL(cfg config.Config, path string) (string, error) {
	addr := cfg.HTTPAddr
	if !cfg.Has(config.RoleAPI) {
		if cfg.HealthAddr == "" {
			return "", fmt.Errorf("roles %v serve no HTTP: set CONTACTS_HEALTH_ADDR to give them a health listener", cfg.Roles)
		}
		addr = cfg.HealthAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

func healthcheck(ctx context.Context, url string, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", url, res.Status, body)
	}
	_, err = fmt.Fprintf(out, "%s", body)
	return err
}
