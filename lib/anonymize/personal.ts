// Which column names look like personal data. A heuristic on names only (the stream never guesses from
// values): it exists to make a new column that nobody wrote a rule for loud, not to anonymize by itself.
const PERSONAL = /(^|_)(e?mail|email_?address|phone|mobile|tel|telephone|fax|token|access_token|refresh_token|password|passwd|pwd|password_hash|secret|salt|api_?key|name|first_?name|last_?name|full_?name|surname|given_?name|family_?name|display_?name|username|user_?name|nickname|address|street|zip|zipcode|postcode|postal_?code|birth|birthday|birthdate|dob|ssn|iban|ip|ip_?address|sid|sess|session|oauth|google_?id|facebook_?id|github_?id|apple_?id|twitter_?id|avatar|gender)($|_)/i

export function looksPersonal(column: string): boolean {
  return PERSONAL.test(column)
}
