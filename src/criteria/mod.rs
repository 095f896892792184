//! The criteria language: parsed and compiled once per configuration load, evaluated per flow.
