package main

import "errors"

func cmdExport(args []string) error {
	return errors.New("not built yet")
}
