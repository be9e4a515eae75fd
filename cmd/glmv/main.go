// Command glmv runs GLM-4.xV vision-language models (GLM-4.5V, GLM-4.6V,
// GLM-4.1V) from a Hugging Face checkpoint folder.
//
// Usage:
//
//	glmv <command> [options]
//
// Run "glmv help" for the list of commands, and "glmv <command> -h" for the
// options of one command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// command is one subcommand: its name, a one-line summary, and the function
// that parses its arguments and runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		// Subcommands are listed here in the order "glmv help" shows them.
		runCommand(),
		serveCommand(),
		inspectCommand(),
		demoCommand(),
		benchCommand(),
		tokenizeCommand(),
		promptCommand(),
		preprocessCommand(),
		quantizeCommand(),
	}
}

func main() {
	// Converted or generated weights live on the Go heap and hold no
	// pointers, so marking them is cheap; collecting at 25% growth instead
	// of 100% keeps transient garbage from doubling the memory a large
	// model needs. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain dispatches to a subcommand and returns the process exit code.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "glmv %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "glmv: unknown command %q (run \"glmv help\")\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "glmv runs GLM-4.xV vision-language models from a Hugging Face checkpoint folder.")
	fmt.Fprintln(w, "\nUsage: glmv <command> [options]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"glmv <command> -h\" for a command's options.")
}
