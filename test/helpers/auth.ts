/** The Authorization header of an API client: every test sends keys this way. */
export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
