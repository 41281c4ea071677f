"""Production hashes passwords at argon2's default cost; the test suite (conftest) at the cheapest."""
import subprocess
import sys

from argon2 import PasswordHasher, extract_parameters, profiles

from core.auth.passwords import hash_password, verify_password


def _hash_in_a_fresh_process(password: str) -> str:
    """A hash made as production makes it: in a process where no test switched the profile."""
    code = "import sys; from core.auth.passwords import hash_password; print(hash_password(sys.argv[1]))"
    return subprocess.run([sys.executable, "-c", code, password], check=True, capture_output=True, text=True).stdout.strip()


def test_production_hashes_at_argon2_default_cost():
    production_hash = _hash_in_a_fresh_process("pass-1234")
    assert extract_parameters(production_hash) == profiles.get_default_parameters()


def test_the_suite_hashes_at_the_cheapest_cost():
    assert extract_parameters(hash_password("pass-1234")) == profiles.CHEAPEST


def test_hashes_of_either_profile_verify_with_the_other():
    production_hash = _hash_in_a_fresh_process("pass-1234")
    assert verify_password("pass-1234", production_hash)
    assert not verify_password("wrong", production_hash)
    fast_hash = hash_password("pass-1234")
    assert PasswordHasher().verify(fast_hash, "pass-1234")
