// English messages for zod/mini, which loads no locale of its own (full zod loads this one on import). The runtime
// schemas use zod/mini, a fraction of full zod in the Lambda bundles, and their default messages (e.g. "Too small:
// expected number to be >=60") must read as before. Imported for its effect by every module that defines a schema.
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());
