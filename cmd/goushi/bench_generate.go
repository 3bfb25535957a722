package main

import "errors"

func benchGenerate(args []string) error {
	return errors.New("not built yet")
}
