/// Namespace for the scenario suites, so `swift test --filter ScenarioTests` runs all of them:
/// schema, error messages, built-ins and lessons, fuzzing.
enum ScenarioTests {}
