export const main_handler = async () => ({ ok: true });
