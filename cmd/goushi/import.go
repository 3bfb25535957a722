package main

import "errors"

func cmdImport(args []string) error {
	return errors.New("not built yet")
}
