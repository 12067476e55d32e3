"""The test suites every package has, gathered at the top level (//:all_tests, //:quick)."""

def tsp_package_test_suites():
    """`tests`: every test of the package; `quick`: those sized small or medium."""
    native.test_suite(name = "tests")
    native.test_suite(
        name = "quick",
        tags = [
            "-enormous",
            "-large",
        ],
    )
