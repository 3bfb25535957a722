package main

import "errors"

func benchTrain(args []string) error {
	return errors.New("not built yet")
}
